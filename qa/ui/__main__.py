"""`python -m qa.ui [--host H] [--port P]`: the browser chat on its own."""

import sys

from qa.ui.launch import main

sys.exit(main())
