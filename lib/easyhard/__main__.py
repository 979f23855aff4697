"""``python -m easyhard``: see :mod:`easyhard.cli`."""

import sys

from easyhard.cli import main

sys.exit(main())
