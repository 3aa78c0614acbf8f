import sys

from bu_cdp.cli import main

sys.exit(main())
