"""Reading a small file a program was told about: one reader, one typed error.

Certificates, keys, password files, TSIG keys and configuration files all fail the same
ways: the file is missing, not readable by the service's user, a directory, larger than
any such file can be, or (for a secret) readable by other users. :func:`read_bounded`
reads the file and raises one :class:`FileReadError` naming which of these it was; each
caller turns that into its own typed error with its own name for the file ("TSIG key
file", "certificate"), so the words stay the same wherever a file is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path

__all__ = ["FileProblem", "FileReadError", "read_bounded"]


class FileProblem(enum.Enum):
    """Why a file cannot be used; the value is how a message says it after the file's name."""

    MISSING = "does not exist"
    UNREADABLE = "is not readable by this user"
    DIRECTORY = "is a directory"
    TOO_LARGE = "is too large"
    SHARED = "is readable by other users"
    UNUSABLE = "cannot be read"


class FileReadError(Exception):
    """A file :func:`read_bounded` refused.

    Attributes:
        path: The file.
        problem: Why.
        detail: The system's words for :attr:`FileProblem.UNUSABLE` (``strerror``), else "".
    """

    def __init__(self, path: Path, problem: FileProblem, detail: str = "") -> None:
        self.path = path
        self.problem = problem
        self.detail = detail
        super().__init__(self.describe(str(path)))

    def describe(self, subject: str, overrides: Mapping[FileProblem, str] | None = None) -> str:
        """The message for a person: ``SUBJECT does not exist`` and so on.

        Args:
            subject: How the caller names the file, ``TSIG key file /etc/key.conf``.
            overrides: Whole messages the caller words its own way, by problem.
        """
        if overrides and self.problem in overrides:
            return overrides[self.problem]
        words = f"{subject} {self.problem.value}"
        return f"{words}: {self.detail}" if self.detail else words


def read_bounded(path: Path, max_bytes: int | None = None, *, private_mask: int = 0) -> bytes:
    """Read a whole file that is at most ``max_bytes`` long.

    Args:
        path: The file.
        max_bytes: The largest size accepted (None: any size).
        private_mask: Mode bits (``stat.S_IRWXO`` ...) that must be clear because the file
            holds a secret; checked before the file is opened, so a secret shared with
            other users is refused even when it is otherwise fine.

    Returns:
        The file's bytes.

    Raises:
        FileReadError: Missing, not readable by this user, a directory, too large, any of
            ``private_mask`` set, or another operating-system error.
    """
    try:
        if private_mask and path.stat().st_mode & private_mask:
            raise FileReadError(path, FileProblem.SHARED)
        with path.open("rb") as stream:
            data = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
    except FileNotFoundError:
        raise FileReadError(path, FileProblem.MISSING) from None
    except PermissionError:
        raise FileReadError(path, FileProblem.UNREADABLE) from None
    except IsADirectoryError:
        raise FileReadError(path, FileProblem.DIRECTORY) from None
    except OSError as exc:
        raise FileReadError(path, FileProblem.UNUSABLE, exc.strerror or str(exc)) from None
    if max_bytes is not None and len(data) > max_bytes:
        raise FileReadError(path, FileProblem.TOO_LARGE)
    return data
