"""Run the ingress benchmark: `.venv/bin/python bench/ingress.py [--duration 10 --rounds 3]`.

See bench/README.md and bench/harness.py. Run as a file, this script's directory would come
first on sys.path and this very file would shadow the `ingress` package: the repository root
takes its place before anything is imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from bench.harness import main

    sys.exit(main())
