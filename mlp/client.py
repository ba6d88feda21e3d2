"""MLP HTTP client for web servers: ask the GMLC where a SIM is, get a location statement.

One :class:`MlpClient` holds one httpx connection pool, so many location requests share
one persistent (keep-alive) connection to the GMLC instead of paying a TCP and TLS
handshake per request. Timeouts are explicit. A request is retried only when the
connection could not be established (the request never left), never after it was sent:
a location request is audited and rate-limited at the GMLC, so blind resending is not safe.

Answers (OMA MLP §5.6): an MLP-level failure comes back as HTTP 200 with a result code,
either for the whole request or for the target (``poserr``); an unknown service as a
``gem`` in HTTP 404. Each becomes an :class:`MlpResultError` with the code and slogan.

Errors::

    MlpError
      MlpResultError        the GMLC answered with an MLP error (.result_code, .slogan, .add_info)
      MlpTransportError     no usable exchange: connect failure, timeout, broken connection
        MlpBadAnswerError   the GMLC answered, but not with a usable MLP answer
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import httpx

from mlp.codes import MsidType, ResType, ResultCode
from mlp.decoder import decode_answer
from mlp.encoder import encode_request
from mlp.errors import MlpDecodeError, MlpError
from mlp.keys import KeySet
from mlp.model import Client, Eqop, Gem, Header, LocationRequest, Msid, Position, Slir

__all__ = [
    "JWKS_PATH",
    "LocationResult",
    "MlpBadAnswerError",
    "MlpClient",
    "MlpResultError",
    "MlpTransportError",
]

JWKS_PATH: Final = "/.well-known/salve/jwks.json"
SESSION_HASH_LENGTH: Final = 32
MAX_ANSWER_BYTES: Final = 1_048_576
MAX_JWKS_BYTES: Final = 65_536
CONNECT_RETRIES: Final = 2
"""Extra connection attempts; httpx retries only failed connects, never sent requests."""


class MlpResultError(MlpError):
    """The GMLC answered with an MLP error for the request or for the target.

    Attributes:
        result_code: The MLP result code (``resid``).
        add_info: The server's explanation, if any.
        msid: The target the error concerns, for a per-target ``poserr``.
        http_status: The HTTP status of the answer (404 for a ``gem``).
    """

    def __init__(
        self,
        result_code: ResultCode,
        add_info: str | None = None,
        *,
        msid: Msid | None = None,
        http_status: int = 200,
    ) -> None:
        detail = f": {add_info}" if add_info else ""
        super().__init__(f"{int(result_code)} {result_code.slogan}{detail}")
        self.result_code = result_code
        self.add_info = add_info
        self.msid = msid
        self.http_status = http_status

    @property
    def resid(self) -> int:
        """The result code as the number MLP writes in ``resid``."""
        return int(self.result_code)

    @property
    def slogan(self) -> str:
        """The result code's slogan, e.g. ``"UNKNOWN SUBSCRIBER"``."""
        return self.result_code.slogan


class MlpTransportError(MlpError):
    """The exchange with the GMLC failed: no connection, timeout, or a broken connection."""


class MlpBadAnswerError(MlpTransportError):
    """The GMLC answered with something that is not a usable MLP answer."""


@dataclass(frozen=True, slots=True)
class LocationResult:
    """A successful location answer.

    Attributes:
        msid: The target.
        position: Where it is, and when that was measured.
        statement: The signed location statement (compact JWS) when a session hash was
            sent; otherwise whatever the GMLC attached, usually None.
    """

    msid: Msid
    position: Position
    statement: str | None


class MlpClient:
    """A connection to one GMLC's MLP endpoint.

    Use it as a context manager, or call :meth:`close`. It is safe to share between
    threads: httpx's connection pool is thread-safe.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        password: str,
        serviceid: str | None = None,
        timeout: float = 5.0,
        verify: bool | str | ssl.SSLContext = True,
        path: str = "/mlp",
        transport: httpx.BaseTransport | None = None,
        keepalive_s: float = 60.0,
    ) -> None:
        """Set up the client; no connection is made until the first request.

        Args:
            base_url: ``http://host:9210`` or ``https://host:9211`` (a path prefix is kept).
            client_id: The MLP client id (``hdr/client/id``).
            password: The MLP client password (``hdr/client/pwd``).
            serviceid: The MLP service id, if the GMLC needs one.
            timeout: Seconds allowed for each of connect, write, read and pool wait.
            verify: TLS verification: True (system CAs), a CA bundle path, or an
                ``ssl.SSLContext``; ignored when ``transport`` is given.
            path: The MLP endpoint path.
            transport: An httpx transport to use instead of the default one (tests,
                proxies).
            keepalive_s: How long an idle connection is kept for the next request. A
                connection the server has closed meanwhile is noticed and replaced before
                it is used.

        Raises:
            ValueError: An invalid base URL, a non-positive timeout, a negative
                keep-alive time, or a CA bundle that cannot be loaded.
        """
        if not timeout > 0:
            raise ValueError("timeout must be a positive number of seconds")
        if not keepalive_s >= 0:
            raise ValueError("keepalive_s must be a non-negative number of seconds")
        self._credentials = Client(id=client_id, pwd=password, serviceid=serviceid)
        self._path = path
        owned_transport = transport is None
        if transport is None:
            if isinstance(verify, str):
                # httpx wants a context for a CA bundle; a bad path fails here, at setup.
                try:
                    verify = ssl.create_default_context(cafile=verify)
                except (OSError, ssl.SSLError) as exc:
                    raise ValueError(f"cannot load CA bundle {verify!r}") from exc
            transport = httpx.HTTPTransport(
                verify=verify,
                retries=CONNECT_RETRIES,
                limits=httpx.Limits(
                    max_connections=100,
                    max_keepalive_connections=20,
                    keepalive_expiry=keepalive_s,
                ),
            )
        try:
            self._http = httpx.Client(
                base_url=base_url,
                transport=transport,
                timeout=httpx.Timeout(timeout),
                follow_redirects=False,
            )
        except httpx.InvalidURL as exc:
            if owned_transport:
                transport.close()
            raise ValueError(f"invalid base URL {base_url!r}") from exc

    def __enter__(self) -> MlpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections. Requests after this raise RuntimeError."""
        self._http.close()

    def request_location(
        self,
        msid: str | Msid,
        session_hash: bytes | None = None,
        *,
        domain: str | None = None,
        batch_size: int | None = None,
        max_loc_age: int | None = None,
        hor_acc: int | None = None,
    ) -> LocationResult:
        """Ask for one target's position (SLIR, synchronous) and read the SLIA.

        Args:
            msid: The target; a plain string is an MSISDN.
            session_hash: The 32-byte session hash of a client's TLS session (see
                ``mlp.statement.session_hash_from_exporter``), or the Merkle root of a
                batch of them; when given, the answer must carry a statement bound to it.
            domain: The canonical host name of the web service the statement is for
                (``salve:domain``); the GMLC signs statements only for a domain registered
                to this client.
            batch_size: The number of leaves when ``session_hash`` is a Merkle root
                (``salve:batch_size``).
            max_loc_age: Oldest acceptable position, in seconds (``eqop/max_loc_age``).
            hor_acc: Required horizontal accuracy in metres (``eqop/hor_acc``).

        Returns:
            The position and, when a session hash was sent, the statement.

        Raises:
            MlpResultError: The GMLC answered with an MLP error (request-level result,
                the target's ``poserr``, or a ``gem``).
            MlpTransportError: Connection failure, timeout or broken connection.
            MlpBadAnswerError: An answer that is not usable MLP, lacks the target, or
                lacks the statement that was asked for.
            MlpEncodeError: The request cannot be written (for example an invalid MSID, a
                non-canonical domain, or a batch size without a session hash).
            ValueError: ``session_hash`` is not 32 bytes.
        """
        target = msid if isinstance(msid, Msid) else Msid(value=msid)
        if session_hash is not None and (
            not isinstance(session_hash, bytes) or len(session_hash) != SESSION_HASH_LENGTH
        ):
            raise ValueError(f"session_hash must be {SESSION_HASH_LENGTH} bytes")
        eqop = None
        if max_loc_age is not None or hor_acc is not None:
            eqop = Eqop(max_loc_age=max_loc_age, hor_acc=hor_acc)
        request = LocationRequest(
            header=Header(client=self._credentials),
            slir=Slir(
                msids=(target,),
                eqop=eqop,
                res_type=ResType.SYNC,
                domain=domain,
                session_hash=session_hash,
                batch_size=batch_size,
            ),
        )
        status, content = self._exchange(
            "POST",
            self._path,
            content=encode_request(request),
            content_type="application/xml",
            limit=MAX_ANSWER_BYTES,
        )
        position = _read_answer(status, content, target)
        if session_hash is not None and position.statement is None:
            raise MlpBadAnswerError("the answer carries no location statement")
        return LocationResult(msid=target, position=position, statement=position.statement)

    def fetch_jwks(self) -> KeySet:
        """Fetch the GMLC's statement keys from ``/.well-known/salve/jwks.json``.

        Returns:
            The key set, ready for ``mlp.statement.verify_statement``.

        Raises:
            MlpTransportError: Connection failure, timeout or broken connection.
            MlpBadAnswerError: A status other than 200, or an oversized document.
            KeyMaterialError: The document is not a valid JWKS.
        """
        status, content = self._exchange(
            "GET", JWKS_PATH, accept="application/json", limit=MAX_JWKS_BYTES
        )
        if status != httpx.codes.OK:
            raise MlpBadAnswerError(f"HTTP {status} for the key set")
        return KeySet.from_jwks(content)

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/xml",
        limit: int,
    ) -> tuple[int, bytes]:
        """Send one request and read at most ``limit`` bytes of the answer body."""
        headers = {"Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        with (
            _translate_transport_errors(),
            self._http.stream(method, path, content=content, headers=headers) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise MlpBadAnswerError(f"answer larger than {limit} bytes")
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)


def _read_answer(status: int, content: bytes, target: Msid) -> Position:
    try:
        answer = decode_answer(content, max_body_bytes=MAX_ANSWER_BYTES)
    except MlpDecodeError as exc:
        if status != httpx.codes.OK:
            raise MlpTransportError(f"HTTP {status} without an MLP answer") from exc
        raise MlpBadAnswerError(f"the answer is not valid MLP ({exc.add_info})") from exc
    if isinstance(answer, Gem):
        raise MlpResultError(answer.result, answer.add_info, http_status=status)
    if status != httpx.codes.OK:
        raise MlpBadAnswerError(f"HTTP {status} with a location answer")
    if answer.result is not None and answer.result != ResultCode.OK:
        raise MlpResultError(answer.result, answer.add_info)
    wanted = _comparable(target)
    for entry in answer.positions:
        if _comparable(entry.msid) != wanted:
            continue
        if isinstance(entry, Position):
            return entry
        raise MlpResultError(entry.result, entry.add_info, msid=entry.msid)
    raise MlpBadAnswerError("the answer has no position for the requested target")


def _comparable(msid: Msid) -> tuple[str, str]:
    """An msid as the server may echo it: MSISDNs with and without a leading ``+`` agree."""
    value = msid.value.strip()
    if msid.type == MsidType.MSISDN:
        value = value.removeprefix("+")
    return str(msid.type), value


@contextmanager
def _translate_transport_errors() -> Iterator[None]:
    """Map httpx's exceptions onto :class:`MlpTransportError`, keeping the cause."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise MlpTransportError(f"timed out talking to the GMLC ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise MlpTransportError(f"cannot talk to the GMLC ({type(exc).__name__}: {exc})") from exc
    except httpx.HTTPError as exc:
        raise MlpTransportError(f"HTTP failure talking to the GMLC ({exc})") from exc
