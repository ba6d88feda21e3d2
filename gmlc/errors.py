"""Errors raised by the GMLC service and its administration tools.

The tree::

    GmlcError                 root of everything the gmlc package raises on purpose
      ConfigError             settings file or environment invalid, unsafe serving setup
        ListenError           a listening address cannot be bound (CLI exit code 6)
      KeyFileError            signing key missing, unreadable, readable by others, ring corrupt
      StoreError              the database failed or is not migrated
      DuplicateError          an object with that identity already exists (CLI exit code 4)
      NotFoundError           the named object does not exist (CLI exit code 3)
      EnrolmentError          a domain's DNS does not show that it names this GMLC (exit 5)

Messages are plain words meant for an operator; they name the file, setting or object
concerned and, where there is one, the fix. They never carry secrets (passwords, private
keys) and never the text of a foreign exception that could.
"""

from __future__ import annotations


class GmlcError(Exception):
    """Root of the errors the gmlc package raises on purpose."""


class ConfigError(GmlcError):
    """The settings are invalid or would start the service in an unsafe way."""


class ListenError(ConfigError):
    """A listening address cannot be bound: the port is in use, the address is not this
    machine's, or binding it needs privileges."""


class KeyFileError(GmlcError):
    """A signing key or the key ring metadata cannot be used.

    Raised when a key file is missing, unreadable, readable by group or others, or when
    the ring has no active key or its metadata is corrupt.
    """


class StoreError(GmlcError):
    """The database failed, is unreachable, or its schema is not current."""


class DuplicateError(GmlcError):
    """An object with the same identity already exists."""


class NotFoundError(GmlcError):
    """The named object does not exist."""


class EnrolmentError(GmlcError):
    """A domain that cannot be enrolled; the message says why in plain words."""
