"""corpus-qa in the browser: `python app.py [--host H] [--port P]`.

A launcher: the chat itself is the qa.ui package (installed with qa, mounted by `qa serve`).
"""

import sys

from qa.ui import main

if __name__ == "__main__":
    sys.exit(main())
