"""`python -m services.probe`."""

import sys

from services.probe.main import main

sys.exit(main())
