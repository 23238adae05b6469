"""One request from the edge to an origin, and the 52x error each failure becomes.

TCP connect first, then TLS if the SSL mode asks for it, so that the failures stay apart:
refused → 521, no answer within the connect timeout → 522, no route → 523, no
response within the origin timeout → 524, a response that is not HTTP → 520, a failed
handshake → 525, a certificate Full (strict) rejects → 526 (fact sheet §11). A closed port
443 refuses the TCP connection, so it is 521 here, although Cloudflare's 525 page lists
"port 443 not open" among its causes (UNCONFIRMED which one the real edge shows).

Under Full (strict) OpenSSL checks the chain and the hostname (SAN, CN as fallback) with
the visitor's hostname as SNI; the dates are checked here against the sandbox clock, and
an Origin CA certificate revoked in the sandbox world is refused too (the 526 page lists
revocation; whether the real edge checks it is UNCONFIRMED).
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import h11
from cryptography import x509

from .pages import EdgeError

_MAX_BODY = 64 * 1024 * 1024
_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


@dataclass(frozen=True)
class OriginPlan:
    """Where and how the edge reaches the origin for one request."""

    address: str
    port: int
    hostname: str  # SNI, and the name Full (strict) checks
    tls: ssl.SSLContext | None
    strict: bool
    connect_timeout: float
    response_timeout: float


@dataclass
class OriginResponse:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True)
class StrictChecks:
    """What Full (strict) checks beyond OpenSSL: the time and revoked certificates."""

    now: Callable[[], datetime]
    revoked: Callable[[bytes], bool]  # leaf DER -> revoked in the sandbox world


async def fetch(plan: OriginPlan, checks: StrictChecks, method: bytes, target: bytes,
                headers: list[tuple[bytes, bytes]], body: bytes) -> OriginResponse:
    """Send one request to the origin and read its whole response, or raise EdgeError."""
    reader, writer = await _connect(plan)
    try:
        if plan.tls is not None:
            await _handshake(plan, writer)
            if plan.strict:
                _check_leaf(plan, writer, checks)
        request = h11.Request(method=method, target=target, headers=headers)
        return await asyncio.wait_for(_exchange(reader, writer, request, body),
                                      plan.response_timeout)
    except TimeoutError as err:
        raise EdgeError(524, f"The origin accepted the connection but sent no complete "
                        f"response within {plan.response_timeout:g} seconds.") from err
    finally:
        writer.close()


async def _connect(plan: OriginPlan) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = f"{plan.address} port {plan.port}"
    try:
        return await asyncio.wait_for(asyncio.open_connection(plan.address, plan.port),
                                      plan.connect_timeout)
    except TimeoutError as err:
        raise EdgeError(522, f"The origin at {where} did not answer the connection within "
                        f"{plan.connect_timeout:g} seconds.") from err
    except ConnectionRefusedError as err:
        raise EdgeError(521, f"The origin at {where} refused the connection.") from err
    except socket.gaierror as err:
        raise EdgeError(1016, f"The origin name {plan.address} does not resolve.") from err
    except OSError as err:
        if err.errno in _UNREACHABLE:
            raise EdgeError(523, f"There is no route to the origin at {where}.") from err
        raise EdgeError(521, f"The connection to the origin at {where} failed: "
                        f"{err.strerror or err}.") from err


async def _handshake(plan: OriginPlan, writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.wait_for(
            writer.start_tls(plan.tls, server_hostname=plan.hostname,
                             ssl_handshake_timeout=plan.connect_timeout),
            plan.connect_timeout * 2)
    except ssl.SSLCertVerificationError as err:
        raise EdgeError(526, f"The origin's certificate for {plan.hostname} is not valid: "
                        f"{err.verify_message}.") from err
    except (ssl.SSLError, ConnectionError, EOFError, TimeoutError, OSError) as err:
        raise EdgeError(525, f"The TLS handshake with the origin at {plan.address} port "
                        f"{plan.port} failed ({_why(err)}).") from err


def _why(err: Exception) -> str:
    if isinstance(err, ssl.SSLError) and err.reason:
        return err.reason.lower().replace("_", " ")
    if isinstance(err, TimeoutError):
        return "no handshake within the timeout"
    return type(err).__name__ if not str(err) else str(err)


def _check_leaf(plan: OriginPlan, writer: asyncio.StreamWriter, checks: StrictChecks) -> None:
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    leaf = x509.load_der_x509_certificate(der)
    now = checks.now()
    if now < leaf.not_valid_before_utc:
        raise EdgeError(526, f"The origin's certificate for {plan.hostname} is not valid "
                        f"before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC.")
    if now > leaf.not_valid_after_utc:
        raise EdgeError(526, f"The origin's certificate for {plan.hostname} expired on "
                        f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC.")
    if checks.revoked(der):
        raise EdgeError(526, f"The origin's certificate for {plan.hostname} is revoked.")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: h11.Request, body: bytes) -> OriginResponse:
    conn = h11.Connection(h11.CLIENT)
    try:
        writer.write(conn.send(request))
        if body:
            writer.write(conn.send(h11.Data(data=body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        return await _read_response(conn, reader)
    except (h11.ProtocolError, ConnectionError, OSError) as err:
        raise EdgeError(520, f"The origin closed the connection or answered something "
                        f"that is not HTTP ({type(err).__name__}: {err}).") from err


async def _read_response(conn: h11.Connection, reader: asyncio.StreamReader) -> OriginResponse:
    response: OriginResponse | None = None
    chunks: list[bytes] = []
    size = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            response = OriginResponse(event.status_code, event.reason, list(event.headers), b"")
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > _MAX_BODY:
                raise EdgeError(520, "The origin's response is larger than the sandbox "
                                "edge relays (64 MiB).")
            chunks.append(bytes(event.data))
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            if response is None:
                raise EdgeError(520, "The origin closed the connection without a response.")
            response.body = b"".join(chunks)
            return response
