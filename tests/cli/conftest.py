"""Helpers for the CLI tests: the contract checks, and a `cli` that records every call.

The `cli` fixture here wraps the one of tests/conftest.py: it runs the installed console script
the same way, and after each test it checks that no call printed key material or a signing
secret it was given (on standard input), at any log level. `keys generate` is the one command
allowed to print a key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import Cli, CliResult, DatabaseFactory

ERROR_PREFIX = "traaaction: error: "
#: the code's base URL for webhooks, as the `cli` fixture of tests/conftest.py sets it
PUBLIC_BASE_URL = "https://hooks.example.test"
#: shorter fragments could occur by chance (in an id, a timestamp)
MIN_FRAGMENT = 8


@dataclass(frozen=True)
class Call:
    args: tuple[str, ...]
    env: dict[str, str]
    stdin: str | None
    result: CliResult

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr


def key_fragments(keys_value: str) -> set[str]:
    """Each entry of a TRAAACTION_KEYS value, and its key material on its own."""
    fragments: set[str] = set()
    for entry in keys_value.split(","):
        material = entry.strip().partition(":")[2]
        if len(material) >= MIN_FRAGMENT:
            fragments |= {entry.strip(), material}
    return fragments


def secret_fragments(secret: str) -> set[str]:
    """A signing secret as given, and its body after whsec_ (what identifies it)."""
    value = secret.strip()
    body = value.removeprefix("whsec_")
    return {f for f in (value, body) if len(f) >= MIN_FRAGMENT}


@dataclass
class RecordingCli(Cli):
    """The console script, as `Cli` runs it, with a record of every call and contract checks."""

    calls: list[Call] = field(default_factory=list)

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> CliResult:
        result = super().__call__(*args, stdin=stdin, **env)
        self.calls.append(Call(args, {**self.env, **env}, stdin, result))
        return result

    def json(self, *args: str, stdin: str | None = None, **env: str) -> Any:
        """Run a command with --json that must succeed; return its one JSON document."""
        result = self.ok(*args, "--json", stdin=stdin, **env)
        assert_only_logs(result.stderr)
        return single_json_document(result.stdout)

    def fails(self, *args: str, stdin: str | None = None, code: int = 1, **env: str) -> str:
        """Run a command that must fail by the contract; return its error message."""
        return assert_error(self(*args, stdin=stdin, **env), args, code=code)

    def assert_nothing_secret_printed(self) -> None:
        """No call printed key material (but `keys generate`) or a secret given on stdin."""
        secrets: set[str] = set()
        for call in self.calls:
            if call.stdin:
                secrets |= secret_fragments(call.stdin)
        for call in self.calls:
            for fragment in secrets:
                assert fragment not in call.output, f"{call.args} printed a signing secret"
            if call.args[:2] == ("keys", "generate"):
                continue
            keys = key_fragments(self.env["TRAAACTION_KEYS"])
            keys |= key_fragments(call.env.get("TRAAACTION_KEYS", ""))
            for fragment in keys:
                assert fragment not in call.output, f"{call.args} printed key material"


def single_json_document(stdout: str) -> Any:
    """Standard output is exactly one JSON document (on one line) and nothing else."""
    assert stdout.endswith("\n"), stdout
    assert stdout.count("\n") == 1, stdout
    return json.loads(stdout)  # raises on anything after the document


def assert_only_logs(stderr: str) -> None:
    """Standard error holds log records only (LOG_FORMAT=json): no stray prints."""
    for line in stderr.splitlines():
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert "event" in record, line


def assert_error(result: CliResult, args: tuple[str, ...], *, code: int = 1) -> str:
    """The error contract: exit code, one line on stderr, `{"error"}` alone with --json."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.code == code, f"{args} exited {result.code}: {result.stderr}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stderr == lines[0] + "\n"
    assert lines[0].startswith(ERROR_PREFIX), lines[0]
    message = lines[0].removeprefix(ERROR_PREFIX)
    assert message.strip()
    if "--json" in args:
        assert single_json_document(result.stdout) == {"error": message}
    else:
        assert result.stdout == ""
    return message


@pytest.fixture
def cli(cli: Cli) -> Iterator[RecordingCli]:
    recorder = RecordingCli(cli.env, cli.cwd)
    yield recorder
    recorder.assert_nothing_secret_printed()


@pytest.fixture
def empty_database_url(databases: DatabaseFactory) -> str:
    """A database without any schema (what `db upgrade` starts from)."""
    return databases.create()


def new_workspace(cli: RecordingCli, name: str = "Acme") -> str:
    workspace_id: str = cli.json("workspace", "create", "--name", name)["id"]
    return workspace_id


def new_endpoint(cli: RecordingCli, workspace_id: str) -> str:
    endpoint_id: str = cli.json("endpoint", "create", "--workspace", workspace_id)["id"]
    return endpoint_id
