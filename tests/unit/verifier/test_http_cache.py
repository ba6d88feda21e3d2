"""RFC 9111 freshness of a GMLC key set, for a private cache."""

from __future__ import annotations

import email.utils

import pytest

from verifier.jwks import MAX_LIFETIME_S, freshness_lifetime
from verifier.tlsclient import HttpResponse

DATE = "Fri, 15 Jan 2027 08:00:00 GMT"  # = T
LATER = "Fri, 15 Jan 2027 08:10:00 GMT"  # T + 600


def response(*headers: tuple[str, str]) -> HttpResponse:
    return HttpResponse(200, headers, b"{}")


@pytest.mark.parametrize(
    ("headers", "fresh_for", "store", "revalidate"),
    [
        ((("cache-control", "public, max-age=60"),), 60, True, False),
        ((("cache-control", "max-age=60"), ("age", "50")), 10, True, False),
        ((("cache-control", "no-store"),), 0, False, False),
        ((("cache-control", "no-cache, max-age=60"),), 0, True, True),
        ((("date", DATE), ("expires", LATER)), 600, True, False),
        ((), 0, True, False),
        ((("cache-control", "max-age=999999999"),), MAX_LIFETIME_S, True, False),
        ((("cache-control", "max-age=soon"),), 0, True, False),
    ],
)
def test_freshness(
    headers: tuple[tuple[str, str], ...], fresh_for: int, store: bool, revalidate: bool
) -> None:
    received = 1_800_000_000.0 if not any(k == "date" for k, _ in headers) else _date_seconds()
    fresh_until, may_store, must_revalidate = freshness_lifetime(response(*headers), received)

    assert fresh_until - received == pytest.approx(fresh_for)
    assert (may_store, must_revalidate) == (store, revalidate)


def _date_seconds() -> float:
    return email.utils.parsedate_to_datetime(DATE).timestamp()


def test_only_ascii_digits_are_delta_seconds() -> None:
    fresh_until, _, _ = freshness_lifetime(
        response(("cache-control", "max-age=²"), ("age", "١٢")), 100.0
    )
    assert fresh_until == 100.0
