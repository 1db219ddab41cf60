"""``python -m clv.cli``: run the ``clv`` command."""

import sys

from clv.cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
