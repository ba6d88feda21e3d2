"""``salve-gmlc cells``: the cell database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gmlc.cellimport import import_cells
from gmlc.cli.common import (
    EXIT_OK,
    PROG,
    CommandTree,
    Context,
    emit_json,
    format_table,
    positive_int,
)
from gmlc.errors import GmlcError, NotFoundError

__all__ = ["register"]


def _cmd_cells_import(ctx: Context) -> int:
    from tqdm import tqdm

    path = Path(ctx.args.file)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist") from None
    except OSError as error:
        raise GmlcError(f"cannot read {path}: {error.strerror}") from None
    with ctx.store() as store:
        # The bar goes to stderr and switches itself off when stderr is not a terminal.
        with tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"importing {path.name}",
            file=sys.stderr,
            disable=None,
            leave=False,
        ) as bar:

            def progress(done: int, rows: int) -> None:
                bar.update(done - bar.n)
                bar.set_postfix(rows=rows, refresh=False)

            report = import_cells(store, path, batch_size=ctx.args.batch, on_progress=progress)
    if ctx.args.json:
        emit_json({"file": str(path), **report.to_json()})
        return EXIT_OK
    print(
        f"Imported {report.rows_imported} cells from {path} in {report.seconds:.1f} s "
        f"({report.rows_per_second:,.0f} rows/s)."
    )
    if report.bad_total:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in report.bad_rows.most_common())
        print(f"Skipped {report.bad_total} bad rows ({reasons}).")
        examples = "; ".join(f"line {e.line}: {e.reason}" for e in report.examples)
        print(f"First bad rows: {examples}.")
    else:
        print("No bad rows.")
    return EXIT_OK


def _cmd_cells_stats(ctx: Context) -> int:
    with ctx.store() as store:
        stats = store.cell_stats()
    if ctx.args.json:
        emit_json(
            {
                "total": stats["total"],
                "by_radio": stats["by_radio"],
                "by_mcc": {str(mcc): n for mcc, n in stats["by_mcc"].items()},
            }
        )
        return EXIT_OK
    if not stats["total"]:
        print(f"The cell database is empty. Load one with: {PROG} cells import FILE.csv.gz")
        return EXIT_OK
    print(f"{stats['total']} cells.")
    print(format_table(["RADIO", "CELLS"], stats["by_radio"].items()))
    busiest = sorted(stats["by_mcc"].items(), key=lambda item: (-item[1], item[0]))
    shown = busiest[:20]
    print(format_table(["MCC", "CELLS"], shown))
    if len(busiest) > len(shown):
        print(f"... and {len(busiest) - len(shown)} more country codes (use --json for all).")
    return EXIT_OK


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``cells import`` and ``cells stats``."""
    cells = tree.group(commands, "cells", "the cell database")
    load = tree.add(
        cells, "import", "load an OpenCelliD CSV export (.csv or .csv.gz)", _cmd_cells_import
    )
    load.add_argument("file", metavar="FILE")
    load.add_argument("--batch", type=positive_int, default=20000, help="rows per transaction")
    tree.add(cells, "stats", "count cells per radio and country code", _cmd_cells_stats)
