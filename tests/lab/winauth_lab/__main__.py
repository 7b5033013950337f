# Internal to the webfarm.winauth lab.
"""Entry point for ``python -m winauth_lab``."""

import sys

from .cli import main

sys.exit(main())
