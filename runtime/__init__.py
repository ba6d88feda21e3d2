"""Conventions every SALVE program shares: log format, command line, systemd notification.

This package imports nothing else of the project, so any program (appliance, modem
tools, GMLC, front, verifier) can use it without pulling in another's code.

* :mod:`runtime.logs`: one structured log format (JSON lines on stderr), journald
  priorities, library chatter kept below INFO, repeated lines rate-limited.
* :mod:`runtime.cli`: ``--version``, ``--log-level``, "PROGRAM: message" errors, exit
  codes listed in ``--help``, and the guard that keeps tracebacks from users.
* :mod:`runtime.sdnotify`: the ``sd_notify(3)`` client.
* :mod:`runtime.units`: the systemd units, udev rules and example configurations the
  distribution carries, and ``python -m runtime.units DEST`` to copy them out.
"""
