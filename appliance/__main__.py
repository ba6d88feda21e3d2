"""``python -m appliance``: the same as the ``salve-appliance`` command."""

import sys

from appliance.cli import main

if __name__ == "__main__":
    sys.exit(main())
