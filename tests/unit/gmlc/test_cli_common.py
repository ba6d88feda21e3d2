"""What every salve-gmlc command shares: range-checked numbers and the list output."""

from __future__ import annotations

import argparse
import json

import pytest

from gmlc.cli.common import emit_listing, number_argument, positive_int


def test_a_number_in_range_is_returned_as_parsed() -> None:
    seconds = number_argument(float, "a number of seconds", lambda s: 0 < s <= 60, "too long")

    assert seconds("2.5") == 2.5
    assert positive_int("7") == 7


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ten", "'ten' is not a number of seconds"),
        ("0", "the timeout is more than 0 and at most 60 seconds, not 0.0"),
        ("nan", "the timeout is more than 0 and at most 60 seconds, not nan"),
    ],
)
def test_a_bad_number_is_refused_in_the_options_words(text: str, words: str) -> None:
    seconds = number_argument(
        float,
        "a number of seconds",
        lambda s: 0 < s <= 60,
        "the timeout is more than 0 and at most 60 seconds, not {value}",
    )

    with pytest.raises(argparse.ArgumentTypeError) as caught:
        seconds(text)
    assert str(caught.value) == words


def test_argparse_reports_the_refusal_for_the_option() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--batch", type=positive_int)

    with pytest.raises(argparse.ArgumentError, match="0 must be at least 1"):
        parser.parse_args(["--batch", "0"])
    with pytest.raises(argparse.ArgumentError, match=r"'1\.5' is not a whole number"):
        parser.parse_args(["--batch", "1.5"])


ROWS = [("a", 1), ("bb", None)]


def listing(items: list[tuple[str, int | None]], *, as_json: bool, none: str | None) -> int:
    return emit_listing(
        items,
        as_json=as_json,
        to_json=lambda item: {"name": item[0], "count": item[1]},
        headers=["NAME", "COUNT"],
        row=lambda item: item,
        none=none,
    )


def test_a_listing_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert listing(ROWS, as_json=False, none="Nothing.") == 0
    assert capsys.readouterr().out == "NAME  COUNT\na     1\nbb    -\n"


def test_a_listing_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    listing(ROWS, as_json=True, none="Nothing.")
    assert json.loads(capsys.readouterr().out) == [
        {"name": "a", "count": 1},
        {"name": "bb", "count": None},
    ]
    listing([], as_json=True, none="Nothing.")
    assert json.loads(capsys.readouterr().out) == []


def test_an_empty_listing_says_so_or_shows_the_headers(capsys: pytest.CaptureFixture[str]) -> None:
    listing([], as_json=False, none="Nothing.")
    assert capsys.readouterr().out == "Nothing.\n"
    listing([], as_json=False, none=None)
    assert capsys.readouterr().out == "NAME  COUNT\n"
