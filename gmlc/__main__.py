"""``python -m gmlc``: the ``salve-gmlc`` command."""

from __future__ import annotations

import sys

from gmlc.cli import main

sys.exit(main())
