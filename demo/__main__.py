"""``python -m demo`` (``make demo``): the SALVE story end to end, on one machine."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and tell the story; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="A site that proves where it is with SALVE, a client that checks it, and "
        "an attacker holding the site's TLS key whose every move is refused. Everything runs "
        "on loopback and stops at the end.",
    )
    parser.add_argument(
        "--dns",
        choices=("auto", "knot", "zone-files"),
        default="auto",
        help="Knot DNS (auto: when knotd is installed) or signed zone files",
    )
    parser.add_argument(
        "--map",
        type=Path,
        default=Path(tempfile.gettempdir()) / "salve-demo-map.svg",
        help="where to write the map (default: %(default)s)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the working directory (configurations, logs)"
    )
    args = parser.parse_args(argv)
    from demo.story import run

    return run(
        dns_kind=None if args.dns == "auto" else args.dns,
        map_path=args.map,
        keep=args.keep,
        out=sys.stdout,
    )


if __name__ == "__main__":
    sys.exit(main())
