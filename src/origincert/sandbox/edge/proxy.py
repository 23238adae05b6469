"""One visitor request at the edge: route it, apply the zone's settings, fetch from the
origin by the zone's current SSL mode, and answer like Cloudflare would.

The world and the settings are read for each request, so tests and the product may
change SSL modes, records and `origin_map` while the edge runs. One request per
connection (`Connection: close`), HTTP/1.1 only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any, NamedTuple

import h11
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .certs import EdgeCertificates
from .origin import OriginPlan, OriginResponse, StrictChecks, fetch
from .pages import EdgeError, render
from .rewrite import is_html, rewrite_links
from .routing import NotServedError, Route, edge_certificate_covers, normalize, resolve

log = logging.getLogger(__name__)

_MAX_REQUEST_BODY = 16 * 1024 * 1024
_VISITOR_TIMEOUT_S = 30.0
# Never relayed between visitor and origin (RFC 9110 §7.6.1), nor headers the edge sets.
_HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
               b"transfer-encoding", b"upgrade", b"host", b"content-length"}
_EDGE_SET = {b"cf-connecting-ip", b"cf-visitor", b"cf-ray", b"x-forwarded-proto"}
_TLS_MODES = ("full", "strict", "origin_pull")


class EdgeRecord(NamedTuple):
    """One visitor request the edge answered (for tests)."""

    scheme: str
    hostname: str
    method: str
    target: str
    status: int
    ray: str


@dataclass
class Visitor:
    scheme: str  # "http" or "https"
    address: str
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> str | None:
        found = next((v for k, v in self.headers if k.lower() == name), None)
        return found.decode("latin-1") if found is not None else None


class _Answer(NamedTuple):
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class EdgeProxy:
    """Answers visitor connections for one front (`scheme`)."""

    def __init__(self, context: Any, certs: EdgeCertificates, scheme: str,
                 records: list[EdgeRecord]) -> None:
        self._context = context
        self._certs = certs
        self._scheme = scheme
        self._records = records

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            if self._scheme == "https" and not self._tls_version_allowed(writer):
                return  # closed right after the handshake, see _tls_version_allowed
            visitor = await asyncio.wait_for(self._read(conn, reader, writer),
                                             _VISITOR_TIMEOUT_S)
            if visitor is None:
                return
            answer = await self.answer(visitor, self._sni(writer))
            if visitor.method == b"HEAD":
                answer = answer._replace(body=b"")
            await self._write(conn, writer, answer)
        except h11.RemoteProtocolError as err:
            await self._refuse(conn, writer, err)
        except (h11.ProtocolError, ConnectionError, TimeoutError) as err:
            log.debug("edge visitor connection dropped scheme=%s error=%s", self._scheme, err)
        finally:
            writer.close()

    # --- the request ---------------------------------------------------------------------

    async def answer(self, visitor: Visitor, sni: str | None) -> _Answer:
        ray = secrets.token_hex(8) + "-SBX"
        hostname = _hostname_of(visitor.header(b"host"))
        try:
            answer = await self._answer(visitor, hostname, sni, ray)
        except NotServedError as err:
            answer = self._error_page(EdgeError(err.error_code, _not_served(err)), visitor,
                                      hostname, ray)
        except EdgeError as err:
            answer = self._error_page(err, visitor, hostname, ray)
        except Exception:  # a bug in the sandbox edge: still answer, and log it
            log.exception("edge request failed hostname=%s ray=%s", hostname, ray)
            answer = _plain(500, b"Internal error of the sandbox edge (see its log).\n")
        answer.headers.extend([(b"server", b"cloudflare"), (b"cf-ray", ray.encode()),
                               (b"connection", b"close")])
        self._records.append(EdgeRecord(visitor.scheme, hostname,
                                        visitor.method.decode("latin-1"),
                                        visitor.target.decode("latin-1"), answer.status, ray))
        log.debug("edge request scheme=%s hostname=%s status=%s ray=%s", visitor.scheme,
                  hostname, answer.status, ray)
        return answer

    async def _answer(self, visitor: Visitor, hostname: str, sni: str | None,
                      ray: str) -> _Answer:
        if not hostname:
            return _plain(400, b"Bad request: no Host header.\n")
        world = self._context.world
        route = resolve(world, hostname)
        if sni is not None and normalize(sni) != hostname:
            # Cloudflare refuses some SNI/Host mismatches (domain fronting); the sandbox
            # serves the Host only when the certificate chosen by the SNI also covers it.
            same_zone = world.zone_for_hostname(normalize(sni)) is route.zone
            if not (same_zone and edge_certificate_covers(route.zone.name, hostname)):
                return _plain(421, b"Misdirected request: the certificate of the TLS name "
                              b"does not cover the Host header.\n")

        settings = route.zone.settings
        if visitor.scheme == "http" and settings["always_use_https"].value == "on":
            location = f"https://{hostname}{visitor.target.decode('latin-1')}"
            return _Answer(301, [(b"location", location.encode("latin-1")),
                                 (b"content-length", b"0")], b"")

        plan = self._plan(route, visitor.scheme)
        rewrite = settings["automatic_https_rewrites"].value == "on"
        headers = _origin_headers(visitor, hostname, ray, rewrite)
        response = await fetch(plan, self._strict_checks(), visitor.method, visitor.target,
                               headers, visitor.body)
        return self._relay(response, route, rewrite, head=visitor.method == b"HEAD")

    def _plan(self, route: Route, scheme: str) -> OriginPlan:
        settings = self._context.settings
        mode = self._context.world.ssl_mode_for(route.zone, route.hostname)
        # Off and Flexible: always HTTP; Full and strict: the visitor's scheme;
        # Strict (SSL-Only Origin Pull): always HTTPS (fact sheet §11). Under Off the real
        # edge may redirect HTTPS visitors to HTTP instead (UNCONFIRMED); here they are served.
        use_tls = mode == "origin_pull" or (mode in _TLS_MODES and scheme == "https")
        port = settings.origin_ports.get(443 if use_tls else 80, 443 if use_tls else 80)
        tls = None
        if use_tls:
            # Zone-level AOP works with Full or stricter only (fact sheet §8).
            client_cert = route.zone.settings["tls_client_auth"].value == "on"
            tls = self._certs.origin_context(validate=mode != "full",
                                             client_certificate=client_cert)
        return OriginPlan(
            address=settings.origin_map.get(route.origin, route.origin),
            port=port,
            hostname=route.hostname,
            tls=tls,
            strict=use_tls and mode != "full",
            connect_timeout=settings.edge_connect_timeout_s,
            response_timeout=settings.edge_response_timeout_s,
        )

    def _strict_checks(self) -> StrictChecks:
        world = self._context.world

        def revoked(der: bytes) -> bool:
            # Sandbox certificates are stored as PEM; compare their DER bodies.
            return any(c.revoked_at is not None and _pem_der(c.certificate) == der
                       for c in world.certificates.values())

        return StrictChecks(now=world.now, revoked=revoked)

    def _relay(self, response: OriginResponse, route: Route, rewrite: bool,
               head: bool) -> _Answer:
        # a HEAD response keeps the origin's Content-Length; others get the relayed body's
        kept = {b"content-length"} if head else set()
        headers = [(k, v) for k, v in response.headers
                   if (k.lower() not in _HOP_BY_HOP or k.lower() in kept)
                   and k.lower() != b"server"]
        body = response.body
        content_type = next((v.decode("latin-1") for k, v in headers
                             if k.lower() == b"content-type"), None)
        encoded = any(k.lower() == b"content-encoding" for k, _ in headers)
        if rewrite and is_html(content_type) and not encoded:
            body = rewrite_links(body, lambda host: self._upgradable(route, host))
        if response.status not in (204, 304) and response.status >= 200 and not head:
            headers.append((b"content-length", str(len(body)).encode()))
        return _Answer(response.status, headers, body)

    def _upgradable(self, route: Route, host: str) -> bool:
        """A link host the edge serves over HTTPS in the same zone."""
        try:
            target = resolve(self._context.world, host)
        except NotServedError:
            return False
        return (target.zone.id == route.zone.id
                and edge_certificate_covers(target.zone.name, target.hostname))

    def _error_page(self, err: EdgeError, visitor: Visitor, hostname: str, ray: str) -> _Answer:
        media, body = render(err, hostname, ray, visitor.header(b"accept") or "*/*")
        return _Answer(err.status, [(b"content-type", media.encode()),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"cache-control", b"private, max-age=0, no-store")], body)

    # --- the wire ------------------------------------------------------------------------

    async def _read(self, conn: h11.Connection, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> Visitor | None:
        request: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > _MAX_REQUEST_BODY:
                    raise h11.RemoteProtocolError("request body too large", 413)
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                peer = writer.get_extra_info("peername") or ("", 0)
                return Visitor(self._scheme, peer[0], request.method, request.target,
                               list(request.headers), b"".join(chunks))

    async def _write(self, conn: h11.Connection, writer: asyncio.StreamWriter,
                     answer: _Answer) -> None:
        writer.write(conn.send(h11.Response(status_code=answer.status,
                                            headers=answer.headers)))
        if answer.body:
            writer.write(conn.send(h11.Data(data=answer.body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()

    async def _refuse(self, conn: h11.Connection, writer: asyncio.StreamWriter,
                      err: h11.RemoteProtocolError) -> None:
        """A malformed or oversized request: say so if the connection still allows it."""
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        answer = _plain(err.error_status_hint, f"Bad request: {err}\n".encode())
        answer.headers.extend([(b"server", b"cloudflare"), (b"connection", b"close")])
        try:
            await self._write(conn, writer, answer)
        except (h11.ProtocolError, ConnectionError):
            pass  # the visitor is gone; nothing left to tell

    def _sni(self, writer: asyncio.StreamWriter) -> str | None:
        ssl_object = writer.get_extra_info("ssl_object")
        return getattr(ssl_object, "sandbox_sni", None) if ssl_object is not None else None

    def _tls_version_allowed(self, writer: asyncio.StreamWriter) -> bool:
        """`min_tls_version` of the zone. Python cannot refuse the handshake by version in
        the SNI callback, so a visitor below the minimum is cut off right after it
        (Cloudflare refuses the handshake itself)."""
        ssl_object = writer.get_extra_info("ssl_object")
        zone = self._context.world.zone_for_hostname(getattr(ssl_object, "sandbox_sni", ""))
        if zone is None:
            return True
        minimum = zone.settings["min_tls_version"].value
        version = (ssl_object.version() or "").removeprefix("TLSv")
        return _version_key(version) >= _version_key(minimum)


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def _origin_headers(visitor: Visitor, hostname: str, ray: str,
                    identity: bool) -> list[tuple[bytes, bytes]]:
    """The visitor's headers, minus hop-by-hop ones, plus what Cloudflare adds."""
    headers = [(k, v) for k, v in visitor.headers
               if k.lower() not in _HOP_BY_HOP and k.lower() not in _EDGE_SET]
    forwarded = next((v for k, v in headers if k.lower() == b"x-forwarded-for"), None)
    headers = [(k, v) for k, v in headers if k.lower() != b"x-forwarded-for"]
    if identity:
        # to rewrite links the edge must read the HTML: ask the origin not to compress it
        headers = [(k, v) for k, v in headers if k.lower() != b"accept-encoding"]
        headers.append((b"accept-encoding", b"identity"))
    address = visitor.address.encode()
    chain = forwarded + b", " + address if forwarded else address
    visitor_json = json.dumps({"scheme": visitor.scheme}, separators=(",", ":")).encode()
    headers[:0] = [(b"host", hostname.encode("latin-1"))]
    headers += [
        (b"cf-connecting-ip", address),
        (b"cf-visitor", visitor_json),
        (b"x-forwarded-proto", visitor.scheme.encode()),
        (b"x-forwarded-for", chain),
        (b"cf-ray", ray.encode()),
        (b"connection", b"close"),
    ]
    if visitor.body:
        headers.append((b"content-length", str(len(visitor.body)).encode()))
    return headers


def _not_served(err: NotServedError) -> str:
    if err.error_code == 1016:
        return f"Cloudflare cannot find the origin of {err.hostname}: {err.reason}."
    return (f"The sandbox edge does not serve {err.hostname}: {err.reason}. Only hostnames "
            "with a proxied (orange cloud) A, AAAA or CNAME record are served at the edge.")


def _plain(status: int, text: bytes) -> _Answer:
    return _Answer(status, [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(text)).encode())], text)


def _hostname_of(host_header: str | None) -> str:
    """The Host header without its port."""
    host = (host_header or "").strip()
    if host.startswith("["):  # an IPv6 literal
        return normalize(host.partition("]")[0] + "]")
    return normalize(host.rsplit(":", 1)[0])


def _pem_der(pem: str) -> bytes:
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(Encoding.DER)
    except ValueError:
        return b""
