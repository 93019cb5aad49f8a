"""``python -m gdn.cli ...`` is the ``gdn`` command (for machines where the package is not installed)."""
import sys

from gdn.cli import main

sys.exit(main())
