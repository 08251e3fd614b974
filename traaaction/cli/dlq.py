"""`traaaction dlq` (dead letters) and `events replay`: operator recovery (workers/replay.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from config.settings import ConfigError
from storage.crypto import SecretBox
from storage.models import DEAD_LETTER_STATUSES, DeadLetter
from storage.repositories import dead_letters
from traaaction.cli._common import CliError, emit, json_option, parse_instant, runtime
from traaaction.cli._progress import progress
from traaaction.runtime import Runtime
from workers.contract import ROUTES

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: datetime, option: str = "--since") -> datetime:
    """A duration back from now (90s, 30m, 6h, 3d) or an ISO 8601 instant with its offset."""
    text = value.strip()
    match = _DURATION.match(text)
    if match:
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds > 3650 * 86400:
            raise CliError(f"{option}: {text} is more than ten years")
        return now - timedelta(seconds=seconds)
    if text[:1].isdigit() and "-" not in text:
        raise CliError(f"{option}: {value!r} is neither a duration like 30m, 6h or 3d "
                       "nor an ISO 8601 date-time")  # fmt: skip
    return parse_instant(text, option)


@contextmanager
def _recovery() -> Iterator[Runtime]:
    """A runtime whose process can run the pipeline (replays run here, not in a worker)."""
    from workers import context

    with runtime() as rt:
        try:
            # Opens the workspace's Stripe key for a refund's invoice lookup, as workers do.
            box: SecretBox | None = rt.secret_box
        except ConfigError:
            box = None
        context.configure(
            context.WorkerContext(
                factory=rt.session_factory,
                secret_box=box,
                stripe_api_base=rt.settings.stripe_api_base,
            )
        )
        yield rt


def letter_view(letter: DeadLetter, *, body: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": letter.id,
        "workspace_id": letter.workspace_id,
        "endpoint_id": letter.endpoint_id,
        "stripe_event_id": letter.stripe_event_id,
        "event_type": letter.event_type,
        "livemode": letter.livemode,
        "status": letter.status,
        "status_reason": letter.status_reason,
        "status_changed_at": letter.status_changed_at,
        "error_class": letter.error_class,
        "error_message": letter.error_message,
        "attempts": letter.attempts,
        "times_dead_lettered": letter.times_dead_lettered,
        "first_failed_at": letter.first_failed_at,
        "last_failed_at": letter.last_failed_at,
        "actor_name": letter.actor_name,
        "message_id": letter.message_id,
        "body_bytes": len(letter.body.encode()),
    }
    if body:
        view["traceback"] = letter.traceback
        view["body"] = letter.body
    return view


def _letter_line(v: dict[str, Any]) -> str:
    mode = "" if v["livemode"] else " [test]"
    last = f"{v['last_failed_at']:%Y-%m-%d %H:%M:%S}"
    return (
        f"{v['id']}  {v['status']}  {v['event_type']}  {v['stripe_event_id']}  "
        f"{v['error_class']} after {v['attempts']} attempt(s), last {last}  "
        f"workspace {v['workspace_id']}{mode}"
    )


_type_choice = click.Choice(sorted(ROUTES))


def _filters(
    workspace_id: str | None, event_type: str | None, reason: str | None, since: str | None,
    status: str | None,
) -> dead_letters.Filters:  # fmt: skip
    return dead_letters.Filters(
        workspace_id=workspace_id,
        event_type=event_type,
        reason=reason,
        since=parse_since(since, datetime.now(UTC)) if since else None,
        status=None if status == "any" else status,
    )


def _filter_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--workspace", "workspace_id", help="Only this workspace's."),
            click.option("--type", "event_type", type=_type_choice, help="Only this event type."),
            click.option("--reason", help="Only this error class (e.g. OperationalError)."),
            click.option("--since", help="Last failed since: 30m, 6h, 3d or an ISO date-time."),
        ]
    ):
        func = option(func)
    return func


@click.group(short_help="Dead letters: events the workers gave up on.")
def dlq() -> None:
    """Dead letters: events the workers gave up on. List, inspect, replay, discard."""


@dlq.command("list", short_help="List dead letters, most recent failure first.")
@_filter_options
@click.option(
    "--status",
    type=click.Choice([*DEAD_LETTER_STATUSES, "any"]),
    default="open",
    show_default=True,
)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@json_option
def list_(
    workspace_id: str | None,
    event_type: str | None,
    reason: str | None,
    since: str | None,
    status: str,
    limit: int,
    as_json: bool,
) -> None:
    """Dead letters, most recent failure first."""
    filters = _filters(workspace_id, event_type, reason, since, status)
    with runtime() as rt, rt.session_factory() as session:
        views = [letter_view(x) for x in dead_letters.search(session, filters, limit=limit)]
    human = "\n".join(_letter_line(v) for v in views) if views else "no dead letters"
    emit(as_json, views, human)


@dlq.command("show", short_help="Show a dead letter: its error and raw event.")
@click.argument("dead_letter_id")
@json_option
def show(dead_letter_id: str, as_json: bool) -> None:
    """One dead letter: its error, traceback summary and raw event."""
    with runtime() as rt, rt.session_factory() as session:
        letter = dead_letters.get(session, dead_letter_id)
        if letter is None:
            raise CliError(f"no dead letter {dead_letter_id}")
        view = letter_view(letter, body=True)
    human = "\n".join(
        [
            _letter_line(view),
            f"error: {view['error_class']}: {view['error_message']}",
            f"first failed {view['first_failed_at']:%Y-%m-%d %H:%M:%S}, dead-lettered "
            f"{view['times_dead_lettered']} time(s)"
            + (f"; {view['status']}: {view['status_reason']}" if view["status_reason"] else ""),
            "traceback (last frames):",
            view["traceback"].rstrip() or "(none)",
            f"event ({view['body_bytes']} bytes):",
            view["body"],
        ]
    )
    emit(as_json, view, human)


def _result_line(r: dict[str, Any]) -> str:
    head = f"{r['dead_letter_id'] or r['stripe_event_id']}  {r['outcome']}"
    if r["reason"]:
        head += f" ({r['reason']})"
    if r["commission_ids"]:
        head += "  commissions " + ", ".join(r["commission_ids"])
    if r["error"]:
        head += f"  {r['error']}"
    return "\n".join([head, *(f"  would {_planned_line(c)}" for c in r["planned"])])


def _planned_line(c: dict[str, Any]) -> str:
    """One command the rules decided, for people (--json has every field)."""
    name = c["command"]
    if name == "CreateAttribution":
        referral, links = c["referral"], c["links"]
        return (
            f"attribute checkout {links['checkout_session_id']} to click {referral['click_id']}"
            f" (partner {referral['partner_id']}, program {referral['program_id']})"
        )
    if name == "CreateCommission":
        month = f" month {c['month']}" if c["month"] else ""
        canceled = f", CANCELED ({c['canceled_reason']})" if c["canceled_reason"] else ""
        return (
            f"create a {c['kind']}{month} commission of {c['amount']} {c['currency']}"
            f" on a sale of {c['sale_amount']} {c['sale_currency']}{canceled}"
        )
    if name == "CancelCommission":
        return f"cancel {c['commission_id']} ({c['reason']})"
    if name == "ReduceCommission":
        return f"reduce {c['commission_id']} to {c['amount']}"
    if name == "CreateClawback":
        return f"claw back {c['amount']} of {c['reverses_commission_id']}"
    if name == "Park":
        return f"wait (up to 7 days) for {c['wait_for']} {c['key']}"
    scalars = ", ".join(
        f"{k}={v}" for k, v in c.items() if k != "command" and not isinstance(v, dict | list)
    )
    return f"{name}({scalars})"


@dlq.command("replay", short_help="Run dead letters' events again, in this process.")
@click.argument("dead_letter_ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Every open dead letter matching filters.")
@_filter_options
@click.option("--dry-run", is_flag=True, help="Tell what would happen; write nothing.")
@json_option
def replay(
    dead_letter_ids: tuple[str, ...],
    replay_all: bool,
    workspace_id: str | None,
    event_type: str | None,
    reason: str | None,
    since: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Run dead letters' events again, in this process, through the workers' pipeline.

    Safe to interrupt (rerun it to resume), to run twice, or from two terminals at once: each
    event applies at most once; one applied meanwhile is closed as `duplicate`."""
    from workers.replay import ReplayError, replay_dead_letter, replay_dead_letters

    filtered = any(x is not None for x in (workspace_id, event_type, reason, since))
    if replay_all == bool(dead_letter_ids):
        raise CliError("give dead letter ids, or --all (with filters if you like), not both")
    if filtered and not replay_all:
        raise CliError("--workspace, --type, --reason and --since go with --all")
    results: list[dict[str, Any]] = []
    with _recovery():
        if replay_all:
            filters = _filters(workspace_id, event_type, reason, since, "open")
            total, running = replay_dead_letters(filters, dry_run=dry_run)
        else:
            total = len(dead_letter_ids)
            running = (replay_dead_letter(i, dry_run=dry_run) for i in dead_letter_ids)
        label = "dry run" if dry_run else "replaying"
        try:
            with progress(label, total=total, enabled=not as_json) as bar:
                for result in running:
                    results.append(result.as_dict())
                    bar.advance()
        except ReplayError as exc:
            raise CliError(str(exc)) from None
        except KeyboardInterrupt:
            _report(results, dry_run, as_json, interrupted=True)
            raise SystemExit(130) from None
    _report(results, dry_run, as_json)
    if any(r["outcome"] == "failed" for r in results):
        raise SystemExit(1)


def _report(
    results: list[dict[str, Any]], dry_run: bool, as_json: bool, *, interrupted: bool = False
) -> None:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "nothing"
    prefix = "dry run, nothing written: " if dry_run else ""
    tail = " (interrupted: run it again to resume)" if interrupted else ""
    human = "\n".join([*(_result_line(r) for r in results), f"{prefix}{summary}{tail}"])
    emit(
        as_json,
        {"dry_run": dry_run, "interrupted": interrupted, "counts": counts, "results": results},
        human,
    )


@dlq.command("discard", short_help="Close dead letters without running them.")
@click.argument("dead_letter_ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why: kept with the dead letter.")
@json_option
def discard(dead_letter_ids: tuple[str, ...], reason: str, as_json: bool) -> None:
    """Close dead letters without running them (their events stay unapplied)."""
    from workers.replay import ReplayError, discard_dead_letters

    with _recovery():
        try:
            closed = discard_dead_letters(list(dead_letter_ids), reason)
        except ReplayError as exc:
            raise CliError(str(exc)) from None
    not_open = [i for i in dead_letter_ids if i not in closed]
    human = f"discarded {len(closed)}" + (
        f"; not open (unknown, replayed or discarded already): {', '.join(not_open)}"
        if not_open
        else ""
    )
    emit(as_json, {"discarded": closed, "not_open": not_open}, human)
    if not_open:
        raise SystemExit(1)


def events_replay_command() -> click.Command:
    @click.command("replay", short_help="Run a logged event again from its stored payload.")
    @click.argument("stripe_event_id")
    @click.option("--workspace", "workspace_id", help="When several workspaces got that event.")
    @click.option("--dry-run", is_flag=True, help="Tell what would happen; write nothing.")
    @json_option
    def events_replay(
        stripe_event_id: str, workspace_id: str | None, dry_run: bool, as_json: bool
    ) -> None:
        """Run a logged event again from its retained payload (after fixing a click, say).

        What it created before is not created twice; a dead-lettered event replays its dead
        letter. Payloads are kept PAYLOAD_RETENTION_DAYS (30 by default)."""
        from workers.replay import ReplayError, replay_event

        with _recovery():
            try:
                result = replay_event(stripe_event_id, workspace_id=workspace_id, dry_run=dry_run)
            except ReplayError as exc:
                raise CliError(str(exc)) from None
        view = result.as_dict()
        emit(as_json, view, _result_line(view))
        if result.outcome == "failed":
            raise SystemExit(1)

    return events_replay
