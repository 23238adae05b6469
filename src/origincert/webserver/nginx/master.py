"""The running nginx master, to signal it directly.

``nginx -s reload`` reads and checks the whole configuration again before it
sends its signal: for thousands of sites that is as long as the config test
just run. The master's pid file is named by the configuration (``pid``), else
built into the binary (``nginx -V``: ``--pid-path``); SIGHUP to that pid, once
/proc shows it is an nginx master, is the same reload without the second read.
Anything unclear gives None, and the caller falls back to ``nginx -s reload``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import crossplane

from origincert.runner import run

_BUILT_IN = re.compile(r"--(pid-path|prefix|conf-path)=(\S+)")


def master_pid(binary: str, conf: Path, prefix: Path | None) -> int | None:
    """The pid of the nginx master running ``conf``, or None when not sure."""
    path = _pid_file(binary, conf, prefix)
    try:
        pid = int(path.read_text().strip()) if path is not None else 0
        title = Path(f"/proc/{pid}/cmdline").read_bytes() if pid > 0 else b""
    except (OSError, ValueError):
        return None
    return pid if _runs(title, binary, conf) else None


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
