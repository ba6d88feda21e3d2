"""``python -m front``: the same as ``salve-front``."""

from front.cli import main

raise SystemExit(main())
