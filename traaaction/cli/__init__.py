"""The `traaaction` operator CLI.

Contract (documented in the README): bad input exits non-zero with one line on stderr; with
--json, standard output carries exactly one JSON document (`{"error": ...}` on failure) and
logs go to stderr.
"""

from __future__ import annotations

import json
import sys

import click
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from config.logs import redact
from config.settings import ConfigError
from domain.errors import DomainError
from storage.crypto import DecryptionError
from storage.errors import StorageError
from storage.schema import SchemaBehind
from traaaction.cli import (
    db,
    dlq,
    endpoints,
    keys,
    ledger,
    programs,
    quickstart,
    reconcile,
    send_test_event,
    service,
    workspaces,
)


class WholeSentenceGroup(click.Group):
    """A group whose command listing never cuts a description short.

    Click shortens a command's docstring to what fits beside its name, ending it with "..."
    mid-sentence; here each command shows its `short_help` (every command of this CLI has
    one, a sentence that fits) or else its docstring's whole first sentence, wrapped.
    """

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=sys.maxsize)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=WholeSentenceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="traaaction-webhooks", prog_name="traaaction")
def cli() -> None:
    """Traaaction: Stripe webhooks in, affiliate commissions out."""


ledger.events.add_command(dlq.events_replay_command())

for command in (
    db.db,
    keys.keys,
    workspaces.workspace,
    endpoints.endpoint,
    programs.program,
    programs.partner,
    programs.click_group,
    ledger.commissions,
    ledger.events,
    dlq.dlq,
    reconcile.reconcile,
    quickstart.quickstart,
    send_test_event.send_test_event,
    *service.COMMANDS,
):
    cli.add_command(command)


def _fail(message: str, as_json: bool, code: int) -> None:
    line = redact(" ".join(message.split()))  # one line, whatever the source said
    click.echo(f"traaaction: error: {line}", err=True)
    if as_json:
        click.echo(json.dumps({"error": line}))
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    try:
        code = cli.main(args=args, prog_name="traaaction", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("interrupted", as_json, 130)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        _fail(exc.format_message() + hint, as_json, 2)
    except click.ClickException as exc:
        _fail(exc.format_message(), as_json, exc.exit_code)
    except (ConfigError, DomainError, StorageError, SchemaBehind, DecryptionError) as exc:
        _fail(str(exc), as_json, 1)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        _fail(f"refused by the database (constraint {constraint})", as_json, 1)
    except OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown error"
        _fail(f"cannot reach PostgreSQL: {first}", as_json, 1)
    except DBAPIError as exc:  # DataError and the like: a value the database cannot store
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown error"
        _fail(f"refused by the database: {first}", as_json, 1)
    sys.exit(code if isinstance(code, int) else 0)
