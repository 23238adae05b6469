"""Where origincert keeps its state and its configuration.

Precedence for each folder: an explicit argument (``--state-dir``,
``--config-dir``), then the environment (``ORIGINCERT_HOME`` for the state,
``ORIGINCERT_CONFIG`` for the configuration), then the defaults
``/var/lib/origincert`` and ``/etc/origincert``.

When the state folder is moved (argument or environment) and the
configuration folder is not, the configuration follows it to
``<state>/etc``: a test, a demo or an unprivileged user who moves one
folder must never write to the system's ``/etc`` by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/origincert")
DEFAULT_CONFIG_DIR = Path("/etc/origincert")
HOME_ENV = "ORIGINCERT_HOME"
CONFIG_ENV = "ORIGINCERT_CONFIG"


class StatePaths:
    """Every path origincert uses, resolved once."""

    def __init__(
        self,
        state_dir: str | Path | None = None,
        config_dir: str | Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if env is None else env
        state = _pick(state_dir, environ.get(HOME_ENV))
        config = _pick(config_dir, environ.get(CONFIG_ENV))

        self.state_dir = (state or DEFAULT_STATE_DIR).absolute()
        if config is not None:
            self.config_dir = config.absolute()
        elif state is not None:
            self.config_dir = self.state_dir / "etc"
        else:
            self.config_dir = DEFAULT_CONFIG_DIR

    def __repr__(self) -> str:
        return f"StatePaths(state_dir={str(self.state_dir)!r}, config_dir={str(self.config_dir)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatePaths):
            return NotImplemented
        return (self.state_dir, self.config_dir) == (other.state_dir, other.config_dir)

    def __hash__(self) -> int:
        return hash((self.state_dir, self.config_dir))

    @property
    def db_file(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def secret_key_file(self) -> Path:
        return self.state_dir / "secret.key"

    @property
    def certs_dir(self) -> Path:
        return self.state_dir / "certs"

    @property
    def live_dir(self) -> Path:
        return self.state_dir / "live"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def journal_dir(self) -> Path:
        return self.state_dir / "journal"

    @property
    def lock_dir(self) -> Path:
        return self.state_dir / "lock"

    @property
    def backup_dir(self) -> Path:
        """Copies of users' configuration files taken before an edit."""
        return self.state_dir / "backup"

    @property
    def nginx_include_dir(self) -> Path:
        return self.config_dir / "nginx"


def _pick(explicit: str | Path | None, from_env: str | None) -> Path | None:
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    if from_env:
        return Path(from_env).expanduser()
    return None
