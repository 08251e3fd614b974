"""The dependency direction of the design, checked on the source (imports read with ast).

config (settings, logs) at the bottom, importing nothing of the project; domain <- storage <-
workers; the ingress verifies and enqueues through the workers' message contract only, never
importing actor code; the shell (`traaaction`) on top wires everything together, and nothing
below it imports it (docs/architecture.md draws this).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT = {"config", "domain", "storage", "workers", "ingress", "traaaction"}
#: standard-library modules that do I/O or read the clock's side effects: not for the domain
DOMAIN_FORBIDDEN_STDLIB = {
    "logging",
    "os",
    "socket",
    "subprocess",
    "threading",
    "asyncio",
    "random",
    "secrets",
    "sqlite3",
    "urllib",
    "http",
    "io",
    "pathlib",
}

ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "domain": set(),
    "storage": {"domain", "config"},
    "workers": {"domain", "storage", "config"},
    # the message contract, and the named failures it raises: nothing else of the workers
    "ingress": {"domain", "storage", "config", "workers.contract", "workers.failures"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _allowed(module: str, package: str) -> bool:
    top = module.split(".", maxsplit=1)[0]
    if top not in PROJECT or top == package:
        return True
    return any(module == rule or module.startswith(rule + ".") for rule in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_the_design_allows(package: str) -> None:
    sources = _sources(package)
    assert sources, f"no sources found for {package}"
    violations = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in sources
        for module in _imports(path)
        if not _allowed(module, package)
    ]
    assert violations == []


def test_the_domain_uses_no_io_library() -> None:
    stdlib = set(sys.stdlib_module_names)
    violations = []
    for path in _sources("domain"):
        for module in _imports(path):
            top = module.split(".")[0]
            if top in {"domain", "__future__"}:
                continue
            if top not in stdlib or top in DOMAIN_FORBIDDEN_STDLIB:
                violations.append(f"{path.relative_to(REPO)} imports {module}")
    assert violations == []


def test_nothing_below_the_shell_imports_it() -> None:
    """The shell is the top of the house: a leaf that nothing else stands on."""
    violations = [
        f"{path.relative_to(REPO)} imports {module}"
        for package in PROJECT - {"traaaction"}
        for path in _sources(package)
        for module in _imports(path)
        if module == "traaaction" or module.startswith("traaaction.")
    ]
    assert violations == []


def test_nothing_outside_the_cli_imports_it() -> None:
    violations = [
        f"{path.relative_to(REPO)} imports {module}"
        for package in PROJECT
        for path in _sources(package)
        if "cli" not in path.relative_to(REPO).parts and path.name != "__main__.py"
        for module in _imports(path)
        if module.startswith("traaaction.cli")
    ]
    assert violations == []


def test_the_layering_check_would_catch_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from storage.models import Base\nimport workers.broker\n")
    assert {"storage.models", "workers.broker"} <= _imports(bad)
    assert not _allowed("storage.models", "domain")
    assert not _allowed("workers.broker", "ingress")
    assert _allowed("storage.models", "workers")
    assert not _allowed("traaaction.settings", "workers")
    assert not _allowed("workers.pipeline", "ingress")
    assert _allowed("workers.contract", "ingress")
    assert not _allowed("storage.db", "config")


def test_no_assert_decides_anything_outside_the_tests() -> None:
    """`python -O` removes asserts: the product names its failures instead (workers/failures.py,
    storage.errors.InvariantViolation), so no check of the product is an assert."""
    found = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for package in sorted(PROJECT)
        for path in _sources(package)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


#: lines; a module past this has more than one job (docs/architecture.md)
MAX_MODULE_LINES = 500


def test_no_module_of_the_product_or_the_benches_is_over_500_lines() -> None:
    too_long = [
        f"{path.relative_to(REPO)}: {count} lines"
        for package in sorted(PROJECT | {"bench"})
        for path in _sources(package)
        if "migrations" not in path.parts
        and (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert too_long == []
