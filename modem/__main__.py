"""``python -m modem``: the same as ``salve-modem``."""

from modem.cli import main

raise SystemExit(main())
