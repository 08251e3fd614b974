"""The SDK as merchants get it: the wheel, built offline from sdk/python, holds the package and
its type marker and depends on nothing; its code parses as the oldest Python it claims; the
README's examples are Python."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

import pytest
import traaaction_sdk

from tests.sdk.conftest import SDK_SOURCE

SDK_ROOT = SDK_SOURCE.parent
PACKAGE = SDK_SOURCE / "traaaction_sdk"
MODULES = sorted(path.name for path in PACKAGE.glob("*.py"))
#: the oldest Python that pyproject.toml's requires-python admits
OLDEST = (3, 9)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of sdk/python: setuptools writes build/ and *.egg-info
    next to the sources it builds, and those stay out of the repository."""
    workspace = tmp_path_factory.mktemp("sdk-build")
    source = workspace / "python"
    shutil.copytree(
        SDK_ROOT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    out = workspace / "wheels"
    # offline: no build isolation (setuptools comes from this venv), no index, no self-check
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps"]
    command += ["--no-build-isolation", "--no-index", "--disable-pip-version-check"]
    built = subprocess.run(
        [*command, "-w", str(out)], capture_output=True, text=True, timeout=300, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = out.glob("*.whl")
    return found


def _metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return HeaderParser().parsestr(archive.read(name).decode())


def test_the_wheel_is_pure_python_and_named_after_the_distribution(wheel: Path) -> None:
    assert re.fullmatch(r"traaaction_sdk-[0-9.]+-py3-none-any\.whl", wheel.name)


def test_the_wheel_holds_the_package_its_type_marker_and_nothing_else(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    package = sorted(n for n in names if not n.startswith("traaaction_sdk-"))
    assert package == sorted(["traaaction_sdk/py.typed", *(f"traaaction_sdk/{m}" for m in MODULES)])
    assert {"__init__.py", "checkout.py", "click_ids.py", "request_reading.py"} <= set(MODULES)


def test_the_metadata_names_the_sdk_and_requires_nothing(wheel: Path) -> None:
    metadata = _metadata(wheel)
    pyproject = tomllib.loads((SDK_ROOT / "pyproject.toml").read_text())["project"]
    assert metadata["Name"] == "traaaction-sdk"
    assert metadata["Version"] == pyproject["version"] == traaaction_sdk.__version__
    assert metadata.get_all("Requires-Dist") is None
    assert metadata["Requires-Python"] == ">=3.9"
    assert "Classifier: Typing :: Typed" in str(metadata)
    # the README is the project's description on the index
    assert "## Where the click id comes from" in metadata.get_payload()


def test_the_unpacked_wheel_works_on_its_own(wheel: Path, tmp_path: Path) -> None:
    """Imported from the wheel alone (a pure wheel unpacked is an installation), in an
    isolated interpreter (-I: no PYTHONPATH, no current directory, no user site) that sees
    neither the repository nor the SDK's sources."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    script = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import traaaction_sdk as sdk\n"
        "assert sdk.__file__.startswith(sys.argv[1]), sdk.__file__\n"
        "environ = {'REQUEST_METHOD': 'GET', 'QUERY_STRING': 'trac_click_id=' + sys.argv[2]}\n"
        "print(sdk.checkout_params(environ)['metadata']['tracClickId'])\n"
    )
    click_id = "clk_abcdefghijklmnopqrstuvwxyz"
    run = subprocess.run(
        [sys.executable, "-I", "-c", script, str(tmp_path), click_id],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == click_id + "\n"


@pytest.mark.parametrize("module", MODULES)
def test_each_module_parses_as_the_oldest_python_it_claims(module: str) -> None:
    source = (PACKAGE / module).read_text()
    ast.parse(source, filename=module, feature_version=OLDEST)


def test_the_readme_examples_are_python() -> None:
    readme = (SDK_ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert len(blocks) >= 6  # one per framework, the bare servers, and the three checkouts
    for number, block in enumerate(blocks):
        compile(block, f"README.md block {number}", "exec")


def _top_level_imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_only_the_standard_library_and_the_sdk(module: str) -> None:
    """No runtime dependency, not even one of the service's own packages: the SDK runs in
    the merchant's app, where none of them is installed."""
    tree = ast.parse((PACKAGE / module).read_text(), filename=module)
    foreign = _top_level_imports(tree) - sys.stdlib_module_names - {"__future__", "traaaction_sdk"}
    assert foreign == set()


@pytest.mark.parametrize("module", MODULES)
def test_each_module_is_short_and_decides_nothing_by_assert(module: str) -> None:
    source = (PACKAGE / module).read_text()
    assert len(source.splitlines()) <= 500
    asserts = [n.lineno for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Assert)]
    assert asserts == [], "python -O removes asserts"
