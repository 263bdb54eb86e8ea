"""``python -m lamina ...`` runs the ``lamina`` command (see ``lamina/cli.py``)."""

import sys

from lamina.cli import main

sys.exit(main())
