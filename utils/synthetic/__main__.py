"""``python -m utils.synthetic --out DIR ...``: write a sample folder (see ``--help``)."""

import sys

from utils.synthetic import main

if __name__ == "__main__":
    sys.exit(main())
