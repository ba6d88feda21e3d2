"""Typed MLP messages, named after their elements (OMA MLP 3.x §5.2, §5.3).

Only what the SALVE GMLC and its clients exchange is modelled: the standard
location immediate service (``svc_init``/``hdr``/``slir`` and
``svc_result``/``slia``) and the general error message ``gem``. Values are
frozen dataclasses; the decoder has already checked formats and ranges, so
consumers can trust the types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlp.codes import LocType, MsidType, Prio, RespReq, ResType, ResultCode
from mlp.shapes import Shape

__all__ = [
    "SALVE_NS",
    "Client",
    "Eqop",
    "Gem",
    "GeoInfo",
    "Header",
    "LocationRequest",
    "Msid",
    "MsidRange",
    "Position",
    "PositionError",
    "Requestor",
    "Slia",
    "Slir",
    "Subclient",
]

#: Namespace of the SALVE extension elements (``session_hash``, ``statement``).
SALVE_NS = "urn:salve:mlp:1"


@dataclass(frozen=True, slots=True)
class Msid:
    """``msid``: a target identity.

    Attributes:
        value: the identity as text (MSISDN without a leading ``+``).
        type: what kind of identity it is.
        enc: ``ASC`` (plain) or ``CRP`` (encrypted by the location server).
    """

    value: str
    type: MsidType = MsidType.MSISDN
    enc: str = "ASC"


@dataclass(frozen=True, slots=True)
class MsidRange:
    """``msid_range``: consecutive numeric identities from ``start`` to ``stop``.

    Both ends have the same type and the same number of digits.

    Raises:
        ValueError: on construction, when the ends are not ASCII digit strings of one
            type and width with ``start <= stop``.
    """

    start: Msid
    stop: Msid

    def __post_init__(self) -> None:
        start, stop = self.start.value, self.stop.value
        if (
            self.start.type != self.stop.type
            or not (start.isascii() and start.isdigit() and stop.isascii() and stop.isdigit())
            or len(start) != len(stop)
            or int(start) > int(stop)
        ):
            raise ValueError("msid_range ends must be digits of one type and width, start <= stop")

    def expand(self) -> tuple[Msid, ...]:
        """Every identity of the range, in order, zero-padded like ``start``."""
        width = len(self.start.value)
        first, last = int(self.start.value), int(self.stop.value)
        return tuple(
            Msid(str(number).zfill(width), self.start.type, self.start.enc)
            for number in range(first, last + 1)
        )

    def __len__(self) -> int:
        return int(self.stop.value) - int(self.start.value) + 1


@dataclass(frozen=True, slots=True)
class Client:
    """``hdr/client``: the LCS client's login.

    Attributes:
        id: registered client name.
        pwd: password, if sent.
        serviceid: the service the client asks under, if sent.
        requestmode: ``PASSIVE`` or ``ACTIVE`` when ``requestmode`` was sent.
    """

    id: str
    pwd: str | None = None
    serviceid: str | None = None
    requestmode: str | None = None

    def __repr__(self) -> str:
        # Keep passwords out of logs and tracebacks.
        shown = None if self.pwd is None else "***"
        return (
            f"Client(id={self.id!r}, pwd={shown!r}, serviceid={self.serviceid!r}, "
            f"requestmode={self.requestmode!r})"
        )


@dataclass(frozen=True, slots=True)
class Subclient:
    """``hdr/subclient``: a reseller or ASP between the client and the end user."""

    id: str
    pwd: str | None = None
    serviceid: str | None = None
    last_client: bool = False

    def __repr__(self) -> str:
        shown = None if self.pwd is None else "***"
        return (
            f"Subclient(id={self.id!r}, pwd={shown!r}, serviceid={self.serviceid!r}, "
            f"last_client={self.last_client!r})"
        )


@dataclass(frozen=True, slots=True)
class Requestor:
    """``hdr/requestor`` in full: who originated the request."""

    id: str
    serviceid: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Header:
    """``hdr``: authentication and request context.

    Attributes:
        client: the client login; absent when a ``sessionid`` stands for it.
        sessionid: a session id the server handed out earlier.
        requestor: the requestor's id (``requestor/id``), if sent.
        subclient: the reseller chain, in document order.
        ver: the ``ver`` of ``svc_init`` (the message wrapper); ``3.2.0`` when absent.
        requestor_detail: the complete ``requestor`` element, if sent.
    """

    client: Client | None = None
    sessionid: str | None = None
    requestor: str | None = None
    subclient: tuple[Subclient, ...] = ()
    ver: str = "3.2.0"
    requestor_detail: Requestor | None = None


@dataclass(frozen=True, slots=True)
class Eqop:
    """``eqop``: the quality of position the client asks for.

    Attributes:
        resp_req: response-time class, or ``None`` when not sent (DELAY_TOL applies).
        resp_timer: maximum response time in seconds.
        hor_acc: horizontal accuracy in metres.
        alt_acc: altitude accuracy in metres.
        max_loc_age: maximum age of a cached location, in seconds.
        ll_acc: latitude/longitude accuracy in seconds of arc (alternative to hor_acc).
        qos_class: ``ASSURED`` or ``BEST_EFFORT`` when the client sent one (3.4+).
    """

    resp_req: RespReq | None = None
    resp_timer: int | None = None
    hor_acc: int | None = None
    alt_acc: int | None = None
    max_loc_age: int | None = None
    ll_acc: float | None = None
    qos_class: str | None = None


@dataclass(frozen=True, slots=True)
class GeoInfo:
    """``geo_info``: the coordinate reference system of the answer.

    Attributes:
        code: EPSG code (the codec accepts only 4326, WGS84).
        code_space: authority, e.g. ``EPSG``.
        edition: authority's edition, e.g. ``6.1``.
    """

    code: int = 4326
    code_space: str = "EPSG"
    edition: str | None = None


@dataclass(frozen=True, slots=True)
class Slir:
    """``slir``: Standard Location Immediate Request.

    Attributes:
        ver: the ``ver`` attribute as sent; ``3.2.0`` when absent.
        msids: single targets, in document order.
        msid_ranges: ranges of targets, in document order.
        codewords: every ``codeword``, in document order.
        eqop: requested quality of position.
        geo_info: requested reference system.
        loc_type: requested location type (``None``: not sent, CURRENT applies).
        prio: requested priority (``None``: not sent, NORMAL applies).
        pushaddr: ``pushaddr/url`` for asynchronous reports.
        res_type: ``SYNC`` or ``ASYNC`` (``None``: not sent, SYNC applies).
        req_id: the client's own reference for the request (``trans_id``).
        domain: the SALVE ``salve:domain``: the canonical host name of the web service
            the statement is for.
        session_hash: the SALVE session binding (``salve:session_hash``), 32 bytes: one
            session's hash, or the Merkle root of a batch.
        batch_size: the SALVE ``salve:batch_size``: the number of leaves when
            ``session_hash`` is a Merkle root; None for a single session.
    """

    ver: str = "3.2.0"
    msids: tuple[Msid, ...] = ()
    msid_ranges: tuple[MsidRange, ...] = ()
    codewords: tuple[str, ...] = ()
    eqop: Eqop | None = None
    geo_info: GeoInfo | None = None
    loc_type: LocType | None = None
    prio: Prio | None = None
    pushaddr: str | None = None
    res_type: ResType | None = None
    req_id: str | None = None
    domain: str | None = None
    session_hash: bytes | None = None
    batch_size: int | None = None


@dataclass(frozen=True, slots=True)
class LocationRequest:
    """A decoded ``svc_init`` carrying one ``slir``."""

    header: Header
    slir: Slir

    def targets(self) -> tuple[Msid, ...]:
        """Every target identity: single msids first, then expanded ranges."""
        expanded: list[Msid] = list(self.slir.msids)
        for msid_range in self.slir.msid_ranges:
            expanded.extend(msid_range.expand())
        return tuple(expanded)


@dataclass(frozen=True, slots=True)
class Position:
    """``pos`` with ``pd``: where one target is.

    Attributes:
        msid: the target.
        time: when the position was measured (timezone-aware).
        shape: the area or point.
        lev_conf: probability in percent that the target is inside the shape.
        statement: the SALVE location statement (compact JWS), if any.
    """

    msid: Msid
    time: datetime
    shape: Shape
    lev_conf: int | None = None
    statement: str | None = None


@dataclass(frozen=True, slots=True)
class PositionError:
    """``pos`` with ``poserr``: why one target has no position.

    Attributes:
        msid: the target.
        result: the per-target result code.
        add_info: short explanation for the client.
        time: when the error was determined (the encoder needs it; timezone-aware).
    """

    msid: Msid
    result: ResultCode
    add_info: str | None = None
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Slia:
    """``slia``: Standard Location Immediate Answer inside ``svc_result``.

    Exactly one of three forms: per-target ``positions``; a request-level
    ``result`` (with optional ``add_info``); or ``req_id`` alone (asynchronous
    acknowledgement).

    Attributes:
        positions: one entry per target.
        result: request-level result.
        add_info: text accompanying ``result``.
        ver: the ``svc_result`` version (answers use the 3.2 dialect).
        req_id: acknowledgement id of an asynchronous request.
    """

    positions: tuple[Position | PositionError, ...] = ()
    result: ResultCode | None = None
    add_info: str | None = None
    ver: str = "3.2.0"
    req_id: str | None = None


@dataclass(frozen=True, slots=True)
class Gem:
    """``gem``: General Error Message, the answer to an undefined service."""

    result: ResultCode
    add_info: str | None = None
