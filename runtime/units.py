"""The operating-system files the distribution carries, and a command to copy them out.

The wheel carries the systemd units, the udev rules and the example configurations as
package data of :mod:`runtime` (the ``systemd/`` directory of the source tree). An
installation copies them where the system reads them::

    python -m runtime.units /tmp/salve-files      # copy them out, say where each goes
    python -m runtime.units --list                # what is shipped, where it goes
    python -m runtime.units --path                # the installed directory (read-only)

Nothing is written outside the destination: putting the files in place stays with the
operator (``install -m 0644 …``), as the README shows, so this command never needs root.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from runtime.cli import EXIT_OK, CommandFailedError, Program, program_parser, run

__all__ = ["ShippedFile", "copy_files", "main", "shipped_files"]

#: The package directory that holds the files (a link to ``systemd/`` in the source tree).
DATA_DIRECTORY = "systemd"

#: Where each kind of file belongs on an installed system, by file-name ending.
DESTINATIONS = (
    (".service", "/etc/systemd/system/"),
    (".rules", "/etc/udev/rules.d/"),
    (".example.toml", "/etc/salve/ (edit it, drop '.example')"),
)

PROGRAM = Program(
    name="python -m runtime.units",
    description=(
        "Copy the systemd units, udev rules and example configurations that this "
        "installation of SALVE carries into a directory."
    ),
)


@dataclass(frozen=True, slots=True)
class ShippedFile:
    """One file the distribution carries.

    Attributes:
        name: its file name (``salve-appliance.service``).
        destination: where it belongs on an installed system.
        resource: the packaged file.
    """

    name: str
    destination: str
    resource: Traversable


def _destination(name: str) -> str | None:
    for ending, destination in DESTINATIONS:
        if name.endswith(ending):
            return destination
    return None


def data_directory() -> Traversable:
    """The packaged directory of the files."""
    return resources.files("runtime") / DATA_DIRECTORY


def shipped_files() -> list[ShippedFile]:
    """The files this installation carries, by name.

    Raises:
        CommandFailedError: the installation carries none (a broken build).
    """
    directory = data_directory()
    files = (
        [
            ShippedFile(entry.name, destination, entry)
            for entry in directory.iterdir()
            if entry.is_file() and (destination := _destination(entry.name)) is not None
        ]
        if directory.is_dir()
        else []
    )
    if not files:
        raise CommandFailedError(
            f"this installation carries no units or rules (looked in {directory}); "
            "reinstall the salve wheel"
        )
    return sorted(files, key=lambda shipped: shipped.name)


def copy_files(destination: Path, *, force: bool = False) -> list[Path]:
    """Copies every shipped file into ``destination`` (created when missing).

    Args:
        destination: the directory to copy into.
        force: replace files that are already there.

    Returns:
        The paths written.

    Raises:
        CommandFailedError: a file is already there (without ``force``), or the
            directory cannot be written.
    """
    files = shipped_files()
    targets = [destination / shipped.name for shipped in files]
    existing = [target for target in targets if target.exists()]
    if existing and not force:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise CommandFailedError(
            f"{existing[0]}{more} already there; nothing was copied (--force replaces them)"
        )
    try:
        destination.mkdir(parents=True, exist_ok=True)
        for shipped, target in zip(files, targets, strict=True):
            with resources.as_file(shipped.resource) as source:
                shutil.copyfile(source, target)
    except OSError as error:
        raise CommandFailedError(f"cannot write to {destination}: {error.strerror}") from None
    return targets


def _body(argv: Sequence[str] | None) -> int:
    parser = program_parser(PROGRAM)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("destination", nargs="?", type=Path, help="directory to copy the files into")
    what.add_argument("--list", action="store_true", help="list the files and where each goes")
    what.add_argument("--path", action="store_true", help="print the installed directory")
    parser.add_argument("--force", action="store_true", help="replace files already there")
    args = parser.parse_args(argv)
    if args.path:
        print(data_directory())
        return EXIT_OK
    if args.list:
        for shipped in shipped_files():
            print(f"{shipped.name:<36} {shipped.destination}")
        return EXIT_OK
    written = copy_files(args.destination, force=args.force)
    for path, shipped in zip(written, shipped_files(), strict=True):
        print(f"{path}  ->  {shipped.destination}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``python -m runtime.units``; returns the exit code."""
    return run(PROGRAM, lambda: _body(argv))


if __name__ == "__main__":
    sys.exit(main())
