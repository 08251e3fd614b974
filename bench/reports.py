"""Reports: the statistics the summaries use, and the report file (bench/harness.py writes it).

Every benchmark's report is one JSON file, bench/results/<name>-<UTC time>.json (git-ignored):
when it started, its options, the environment it ran in (`environment`), then its own
summary and measurements. The statistics are the same for all so that their figures compare.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.processes import REPO

RESULTS = REPO / "bench" / "results"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (p99 of 100 values: the 99th)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil
    return sorted_values[min(int(rank), len(sorted_values)) - 1]


def checklist(targets: dict[str, bool]) -> list[str]:
    """The targets as the tables print them: `[x] met`, `[ ] missed`."""
    return [f"  [{'x' if met else ' '}] {name}" for name, met in targets.items()]


def wrk_version() -> str:
    if shutil.which("wrk") is None:
        return ""
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S607
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""


def environment(packages: Sequence[str], *, wrk: bool) -> dict[str, Any]:
    """What the figures were measured on: CPU, Python, package versions, commit (and wrk)."""
    from importlib.metadata import version

    def run(*argv: str) -> str:
        try:
            out = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603
        except OSError:
            return ""
        return out.stdout.strip()

    model = ""
    with suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = run("git", "rev-parse", "--short", "HEAD")
    dirty = bool(run("git", "diff", "--stat", "HEAD", "--"))
    found: dict[str, Any] = {
        "cpu": model,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in packages},
        "git": f"{commit}{'+dirty' if dirty else ''}",
    }
    return {**found, "wrk": wrk_version()} if wrk else found


def write_report(name: str, started: datetime, report: dict[str, Any]) -> Path:
    """Write the full report to bench/results/<name>-<UTC time>.json and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out
