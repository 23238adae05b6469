"""What every command shares: settings, the state store, the output channel."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from origincert.settings import Settings
    from origincert.state.db import Store


@dataclass
class AppContext:
    state_dir: Path | None = None
    config_dir: Path | None = None
    verbose: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def settings(self) -> Settings:
        from origincert import logs, settings

        loaded = settings.load(self.state_dir, self.config_dir, **self.overrides)
        logs.configure(loaded.paths.log_dir, verbose=self.verbose)
        return loaded

    @cached_property
    def store(self) -> Store:
        from origincert.state.db import Store

        return Store(self.settings.paths)


def emit_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
