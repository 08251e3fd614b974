"""The SDK is its own distribution (sdk/python), not installed by the project's `.[test]`:
its source is put first on the path, so that these tests run the repository's copy from a
fresh clone (and not one that a `pip install traaaction-sdk` may have left in the venv)."""

from __future__ import annotations

import sys
from pathlib import Path

SDK_SOURCE = Path(__file__).resolve().parents[2] / "sdk" / "python" / "src"

if str(SDK_SOURCE) not in sys.path:
    sys.path.insert(0, str(SDK_SOURCE))
