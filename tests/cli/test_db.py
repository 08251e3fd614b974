"""`traaaction db upgrade` and `db status`: the two commands that work on any schema."""

from __future__ import annotations

from tests.cli.conftest import RecordingCli


def test_db_upgrade_migrates_an_empty_database_after_which_status_is_up_to_date(
    cli: RecordingCli, empty_database_url: str
) -> None:
    before = cli.json("db", "status", DATABASE_URL=empty_database_url)
    assert before["current"] is None
    assert before["up_to_date"] is False
    head = before["head"]
    assert isinstance(head, str)
    assert head

    upgraded = cli.json("db", "upgrade", DATABASE_URL=empty_database_url, LOG_LEVEL="DEBUG")
    assert upgraded == {"from": None, "to": head, "changed": True}
    # At DEBUG the migration logs, and every record went to stderr, none to stdout.
    assert cli.calls[-1].result.stderr.strip()

    after = cli.json("db", "status", DATABASE_URL=empty_database_url)
    assert after == {"current": head, "head": head, "up_to_date": True}


def test_db_upgrade_on_an_up_to_date_database_changes_nothing(cli: RecordingCli) -> None:
    result = cli.json("db", "upgrade")
    assert result["changed"] is False
    assert result["from"] == result["to"]
    assert result["to"]


def test_db_status_says_in_words_whether_an_upgrade_is_needed(
    cli: RecordingCli, empty_database_url: str
) -> None:
    behind = cli.ok("db", "status", DATABASE_URL=empty_database_url)
    assert behind.stdout.startswith("schema at empty, code expects ")
    assert "run `traaaction db upgrade`" in behind.stdout
    assert behind.stderr == ""

    current = cli.ok("db", "status")
    assert current.stdout.startswith("schema at ")
    assert "empty" not in current.stdout
    assert "upgrade" not in current.stdout
