"""The banner of `traaaction run`: its commands run as written in a new shell.

A new shell has not activated the virtualenv, so a bare `traaaction` is found only when PATH
leads to it: the banner names the running executable by its path otherwise. Each test runs
the banner's command lines through a real shell whose PATH lacks the virtualenv, against a
stand-in `traaaction` that says how it was called.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import load_settings
from traaaction.cli.service import _banner
from traaaction.runtime import Runtime

#: PATH of a new shell: the system's, no virtualenv
SYSTEM_PATH = "/usr/bin:/bin"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with its virtualenv's `traaaction` and `activate`; the current directory."""
    project = tmp_path / "shop checkout"  # a space, as some home directories have
    bin_dir = project / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "traaaction"
    script.write_text('#!/bin/sh\necho "traaaction was run with: $*"\n')
    script.chmod(0o755)
    (bin_dir / "activate").write_text(f'PATH="{bin_dir}:$PATH"\nexport PATH\n')
    monkeypatch.chdir(project)
    monkeypatch.setenv("PATH", SYSTEM_PATH)
    return project


def _banner_of(argv0: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys, "argv", [argv0, "run"])
    with Runtime(load_settings()) as rt:
        return _banner("http://127.0.0.1:8000", rt)


def _commands(banner: str) -> list[str]:
    """The banner's command lines (indented, a `# comment` after the command)."""
    return [line.strip() for line in banner.splitlines() if line.startswith("  ") and " # " in line]


def _in_a_new_shell(line: str, cwd: Path) -> str:
    done = subprocess.run(
        ["/bin/sh", "-c", line],
        cwd=cwd,
        env={"PATH": SYSTEM_PATH, "HOME": str(cwd)},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, f"{line!r} did not run: {done.stderr}"
    return done.stdout.strip()


def test_an_unactivated_virtualenv_gets_the_path_of_its_traaaction(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    banner = _banner_of(".venv/bin/traaaction", monkeypatch)
    assert f"Next, in another terminal, in '{project}':" in banner
    commands = _commands(banner)
    assert commands[0].startswith(".venv/bin/traaaction quickstart ")
    assert [_in_a_new_shell(c, project) for c in commands] == [
        "traaaction was run with: quickstart",
        "traaaction was run with: send-test-event ...",
        "traaaction was run with: endpoint create --workspace WS",
        "traaaction was run with: endpoint add-secret EP",
    ]
    assert "(or first `source .venv/bin/activate`: then `traaaction` alone runs)" in banner
    bash = shutil.which("bash")
    if bash is not None:  # `source` is bash's (and zsh's) word for `.`
        activated = subprocess.run(
            [bash, "-c", "source .venv/bin/activate && traaaction quickstart"],
            cwd=project,
            env={"PATH": SYSTEM_PATH},
            capture_output=True,
            text=True,
            check=True,
        )
        assert activated.stdout.strip() == "traaaction was run with: quickstart"


def test_outside_the_checkout_the_path_is_absolute(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    banner = _banner_of(str(project / ".venv" / "bin" / "traaaction"), monkeypatch)
    [quickstart, *_] = _commands(banner)
    assert quickstart.startswith(f"'{project}/.venv/bin/traaaction' quickstart ")
    assert _in_a_new_shell(quickstart, elsewhere) == "traaaction was run with: quickstart"


def test_when_path_finds_it_the_banner_says_traaaction(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{project / '.venv' / 'bin'}{os.pathsep}{SYSTEM_PATH}")
    banner = _banner_of(str(project / ".venv" / "bin" / "traaaction"), monkeypatch)
    assert "  traaaction quickstart " in banner
    assert "  traaaction send-test-event ...  # the command quickstart prints" in banner
    assert "activate" not in banner


def test_without_a_console_script_it_is_python_dash_m(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = tmp_path / "bin" / "python3"
    python.parent.mkdir()
    python.write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", str(python))
    banner = _banner_of(str(tmp_path / "traaaction" / "__main__.py"), monkeypatch)
    assert _commands(banner)[0].startswith(f"{python} -m traaaction quickstart ")
