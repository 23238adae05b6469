"""A private network namespace for this process, so the demo touches no real port.

Python 3.11 has no ``os.unshare``; libc's ``unshare(2)`` does the same. It is
called before any thread starts, so every thread and child process created
afterwards (the sandbox server, nginx) lives in the new namespace.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from origincert import runner
from origincert.errors import OriginCertError

CLONE_NEWNET = 0x40000000
ORIGIN_ADDRESS = "203.0.113.10"


def enter_private_network() -> None:
    """Move this process into a new network namespace with loopback up."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OriginCertError(
            f"cannot make a private network for the demo: {os.strerror(errno)}",
            hint="run the demo as root (it runs nginx on ports 80 and 443 privately)",
        )
    # Loopback, and the origin address the sample DNS records name.
    for argv in (["ip", "link", "set", "lo", "up"],
                 ["ip", "addr", "add", f"{ORIGIN_ADDRESS}/32", "dev", "lo"]):
        done = runner.run(argv)
        if not done.ok:
            raise OriginCertError(f"cannot set up the demo network: {done.output}",
                                  hint="install iproute2")
