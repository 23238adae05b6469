"""The running nginx master, to signal it directly.

``nginx -s reload`` reads and checks the whole configuration again before it
sends its signal: for thousands of sites that is as long as the config test
just run. The master's pid file is named by the configuration (``pid``), else
built into the binary (``nginx -V``: ``--pid-path``); SIGHUP to that pid, once
/proc shows it is an nginx master, is the same reload without the second read.
Anything unclear gives None, and the caller falls back to ``nginx -s reload``.

A reload is asynchronous either way: the master reads the configuration, starts
new workers and only then tells the old ones to quit, and until an old worker
has read that it still accepts handshakes with the old certificates. An old
worker retitles itself ``worker process is shutting down`` as it closes its
listening sockets, so ``retire`` waits for that title (or its exit) on every
worker the master had before the signal.
"""

from __future__ import annotations

import functools
import re
import time
from pathlib import Path

import crossplane

from origincert.runner import run

_BUILT_IN = re.compile(r"--(pid-path|prefix|conf-path)=(\S+)")
_WORKER = "nginx: worker process"


def master_pid(binary: str, conf: Path, prefix: Path | None) -> int | None:
    """The pid of the nginx master running ``conf``, or None when not sure."""
    path = _pid_file(binary, conf, prefix)
    try:
        pid = int(path.read_text().strip()) if path is not None else 0
        title = Path(f"/proc/{pid}/cmdline").read_bytes() if pid > 0 else b""
    except (OSError, ValueError):
        return None
    return pid if _runs(title, binary, conf) else None


def workers(master: int) -> set[int]:
    """The pids of the master's worker processes that still accept connections."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent(entry) == master and _title(entry) == _WORKER:
            found.add(int(entry.name))
    return found


def retire(old: set[int], *, timeout: float, interval: float = 0.02) -> bool:
    """Wait until none of ``old`` accepts connections any more; False at the timeout.

    A master that refused its new configuration keeps its old workers; the
    verification after the reload then says what is served.
    """
    deadline = time.monotonic() + timeout
    while True:
        old = {pid for pid in old if _title(Path(f"/proc/{pid}")) == _WORKER}
        if not old:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _parent(entry: Path) -> int | None:
    try:
        # The command name in field 2 may hold spaces; the parent follows its ")".
        return int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _title(entry: Path) -> str:
    try:
        text = entry.joinpath("cmdline").read_bytes()
    except OSError:
        return ""
    return text.replace(b"\0", b" ").decode(errors="replace").strip()


def _runs(title: bytes, binary: str, conf: Path) -> bool:
    """Whether a process title is an nginx master started with ``conf``.

    The master's title keeps its command line: ``nginx: master process
    /usr/sbin/nginx -c /etc/nginx/nginx.conf``; without ``-c`` it runs the
    binary's built-in configuration path. Another nginx (another -c) is not ours.
    """
    text = title.replace(b"\0", b" ").decode(errors="replace").strip()
    if not text.startswith("nginx: master process "):
        return False
    words = text.removeprefix("nginx: master process ").split()
    if "-c" in words[:-1]:
        named = Path(words[words.index("-c") + 1])
        return named.is_absolute() and named.resolve() == conf.resolve()
    built_in = _built_in(binary).get("conf-path")
    return built_in is not None and Path(built_in).resolve() == conf.resolve()


def _pid_file(binary: str, conf: Path, prefix: Path | None) -> Path | None:
    named = _pid_directive(conf)
    built = _built_in(binary) if named is None or (prefix is None and not named.is_absolute()) \
        else {}
    path = named or (Path(built["pid-path"]) if "pid-path" in built else None)
    if path is None or path.is_absolute():
        return path
    base = prefix or (Path(built["prefix"]) if "prefix" in built else None)
    return base / path if base is not None else None


def _pid_directive(conf: Path) -> Path | None:
    """``pid`` of the main file: a main-context directive, read without the includes."""
    parsed = crossplane.parse(str(conf), single=True, catch_errors=False, check_ctx=False,
                              check_args=False)
    for config in parsed.get("config", []):
        for directive in config.get("parsed", []):
            if directive.get("directive") == "pid" and directive.get("args"):
                return Path(directive["args"][0])
    return None


@functools.lru_cache(maxsize=4)
def _built_in(binary: str) -> dict[str, str]:
    done = run([binary, "-V"], timeout=10)
    return dict(_BUILT_IN.findall(done.output)) if done.ok else {}
