"""TLS for the HTTPS front, driven through memory BIOs over a plain asyncio connection.

asyncio's own TLS closes the connection on a failed handshake without sending what
OpenSSL queued, so a visitor would see a bare EOF instead of the handshake_failure alert
Cloudflare sends for a name it has no certificate for (field case C07). Here every byte
OpenSSL queues is written out, the alert included.

A `TlsStream` is both the reader and the writer the proxy uses.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

_CHUNK = 65536


class TlsStream:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 context: ssl.SSLContext) -> None:
        self._reader = reader
        self._writer = writer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(self._incoming, self._outgoing, server_side=True)

    async def handshake(self) -> None:
        """Complete the server handshake; on failure the alert is sent, then SSLError."""
        while True:
            try:
                self.ssl_object.do_handshake()
            except ssl.SSLWantReadError:
                await self.drain()
                await self._fill()
            except ssl.SSLError:
                await self.drain()  # the alert
                raise
            else:
                await self.drain()  # the last flight and TLS 1.3 session tickets
                return

    async def read(self, size: int = _CHUNK) -> bytes:
        """Up to `size` bytes of plaintext; b"" at the end of the stream."""
        while True:
            try:
                return self.ssl_object.read(size)
            except ssl.SSLWantReadError:
                await self.drain()
                await self._fill()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def write(self, data: bytes) -> None:
        self.ssl_object.write(data)

    async def drain(self) -> None:
        pending = self._outgoing.read()
        if pending:
            self._writer.write(pending)
            await self._writer.drain()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self.ssl_object
        return self._writer.get_extra_info(name, default)

    def close(self) -> None:
        try:
            self.ssl_object.unwrap()  # queue close_notify
        except ssl.SSLError:
            pass  # the peer is gone or mid-record: nothing to say goodbye to
        pending = self._outgoing.read()
        if pending and not self._writer.is_closing():
            self._writer.write(pending)
        self._writer.close()

    async def _fill(self) -> None:
        data = await self._reader.read(_CHUNK)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()
