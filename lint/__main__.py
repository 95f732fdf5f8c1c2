"""`python -m kmha_lint`: the same as the `kmha-lint` console script."""

import sys

from kmha_lint.cli import main

sys.exit(main())
