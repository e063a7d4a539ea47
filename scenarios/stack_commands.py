"""The ``careflow`` commands that read or act on a running stack, and the small helpers
(``info``, ``json``, ``trigger``, ``doctor``, ``example``, ``caspio orphans``).
``careflow.scenarios.commands`` registers them on the command line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .console import console_for, fail
from .serving import DEFAULT_PORT, HostOpt, JsonOpt, ServeError, StackInfoOpt, StackUrlOpt


def info(
    info_file: StackInfoOpt = None,
    url: StackUrlOpt = None,
    wait: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Wait this long for the stack to be up (its info file written, its servers "
            "answering) before giving up.",
        ),
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """A running stack's URLs and credentials as KEY=value lines.

    From --info-file (careflow up's) or --url (its engine; http://127.0.0.1:8400 by default);
    --wait SECONDS waits for it to come up, so a script can start `careflow up &` and go on."""
    from .console import credential_lines, emit_json
    from .serving import wait_for_info

    console = console_for(as_json)
    try:
        found = wait_for_info(info_file, url, wait)
    except ServeError as exc:
        raise fail(console, str(exc)) from None
    if as_json:
        emit_json(found)
        return
    for line in credential_lines(found):
        console.print(line, soft_wrap=True, markup=False)


def json_value(
    key: Annotated[
        str,
        typer.Argument(metavar="KEY", hidden=True),
    ],
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", hidden=True),
    ] = "-",
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print text values JSON-quoted too.", show_default=False),
    ] = False,
) -> None:
    """Print one value of a JSON document (no jq needed).

    KEY is a dotted path (engine.url, whatconverts.api_token, items.0.id; "." for all) into
    FILE (an info file, say) or stdin. Text prints as is, anything else as one line of JSON,
    so that a script can read stack.json or an API's answer."""
    from .jsonpath import JsonPathError, lookup, read_document, render

    try:
        value = lookup(read_document(file), key, file)
    except JsonPathError as exc:
        raise fail(console_for(True), str(exc), exc.code) from None
    sys.stdout.write(render(value, as_json))


def trigger(
    event: Annotated[
        str | None,
        typer.Argument(metavar="EVENT", hidden=True),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="KEY=VALUE",
            help="Set a field of the synthetic data (repeatable), e.g. --field lead_type=web_form.",
        ),
    ] = None,
    url: StackUrlOpt = None,
    info_file: StackInfoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fire one vendor event at a running stack.

    EVENT is <vendor>.<event> (run without it for the list): a new or updated WhatConverts
    lead, a Caspio record insert or update, an Ours track, with synthetic data. Prints the
    correlation id and its timeline on the dashboard. The stack is the one at
    http://127.0.0.1:8400 unless --url or --info-file says another."""
    from .console import emit_json
    from .driver import DriverError
    from .serving import read_info
    from .trigger import fire, parse_overrides, registry

    console = console_for(as_json)
    found = registry()
    if event is None:
        if as_json:
            emit_json([{"event": n, "does": t.help} for n, t in found.items()])
            return
        console.print("events (careflow trigger EVENT fires one):", style="bold")
        width = max(map(len, found))
        for name, item in found.items():
            console.print(f"  {name.ljust(width)}  {item.help}", soft_wrap=True, markup=False)
        return
    if event not in found:
        raise fail(console, f"unknown event {event!r}: one of {', '.join(found)}", 2)
    try:
        overrides = parse_overrides(field or [])
        stack = read_info(info_file, url)
        fired = fire(stack, event, overrides)
    except ValueError as exc:
        raise fail(console, str(exc), 2) from None
    except ServeError as exc:
        raise fail(console, str(exc)) from None
    except (DriverError, OSError) as exc:
        raise fail(console, f"{event}: {exc}") from None
    if as_json:
        emit_json(fired)
        return
    made = ", ".join(f"{k}={v}" for k, v in fired["result"].items() if k != "note")
    console.print(f"{event}: {made}", soft_wrap=True, markup=False)
    console.print(f"correlation id: {fired['correlation_id']}", soft_wrap=True, markup=False)
    console.print(f"timeline: {fired['timeline_url']}", soft_wrap=True, markup=False)
    if "note" in fired["result"]:
        console.print(fired["result"]["note"], style="dim", soft_wrap=True, markup=False)


def doctor(
    host: HostOpt = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(metavar="PORT", help=f"First of the ports to check (default {DEFAULT_PORT})."),
    ] = None,
    url: StackUrlOpt = None,
    info_file: StackInfoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check this machine for the sandbox and say what to fix.

    Python, the ports `careflow up` takes, a running stack (with --url or --info-file),
    Chromium for the dashboard's browser tests, wrk for `bench --sockets`. Exit 1 if a check
    failed (a missing optional tool is a warning)."""
    from .console import emit_json
    from .doctor import report, run_checks

    checks = run_checks(host=host, port=port, url=url, info_file=info_file)
    found = report(checks)
    if as_json:
        emit_json(found)
    else:
        console = console_for()
        marks = {"ok": ("ok  ", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "red")}
        for check in checks:
            mark, style = marks[check.status]
            console.print(
                f"{mark}  {check.name}: {check.detail}", style=style, soft_wrap=True, markup=False
            )
            if check.fix:
                console.print(f"      fix: {check.fix}", soft_wrap=True, markup=False)
    raise typer.Exit(0 if found["ok"] else 1)


def example(
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", hidden=True),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a shipped example file.

    NAME: workflow (the README's workflow), walkthrough (the engine over HTTP, a bash script)
    or github-actions (a CI job); none lists them. E.g. careflow example workflow >
    workflow.yaml."""
    from .console import emit_json
    from .example import EXAMPLES, text_of

    if name is None:
        if as_json:
            emit_json([{"name": n, "file": f, "is": d} for n, (f, d) in EXAMPLES.items()])
            return
        console = console_for()
        for key, (file, does) in EXAMPLES.items():
            console.print(f"{key.ljust(15)} {file.ljust(20)} {does}", soft_wrap=True, markup=False)
        return
    if name not in EXAMPLES:
        raise fail(console_for(True), f"no example {name!r}: one of {', '.join(EXAMPLES)}", 2)
    if as_json:
        emit_json({"name": name, "file": EXAMPLES[name][0], "text": text_of(name)})
        return
    sys.stdout.write(text_of(name))


caspio_app = typer.Typer(
    help="Caspio helpers for the sandbox.", no_args_is_help=True, rich_markup_mode=None
)


@caspio_app.command("orphans")
def caspio_orphans(
    url: Annotated[
        str, typer.Option(metavar="URL", help="Engine URL of a running stack.")
    ] = f"http://127.0.0.1:{DEFAULT_PORT}",
    info_file: StackInfoOpt = None,
    clean: Annotated[
        bool, typer.Option("--clean", help="Delete the orphaned webhooks.", show_default=False)
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List Caspio webhooks left without a profile (--clean deletes).

    Outgoing webhooks are left behind in Caspio when the web services profile is deleted
    before the Keragon workflows that created them."""
    from rich.table import Table

    from .console import emit_json
    from .driver import DriverError
    from .running import StackUnreachable, remote_driver
    from .serving import read_info

    console = console_for(as_json)
    try:
        if info_file is not None:
            url = read_info(info_file, None)["engine"]["url"]
        driver = remote_driver(url)
        found = driver.admin("caspio", "GET", "/orphans")
    except (StackUnreachable, DriverError, ServeError) as exc:
        raise fail(console, str(exc), 2) from None
    if clean and found["count"]:
        driver.admin("caspio", "DELETE", "/orphans")
    if as_json:
        emit_json({**found, "deleted": found["count"] if clean else 0})
        return
    table = Table(title=f"orphaned Caspio webhooks ({found['count']})")
    for column in ("Id", "Name", "OutgoingUrls", "CreatedBy"):
        table.add_column(column)
    for hook in found["items"]:
        table.add_row(
            str(hook.get("Id")),
            str(hook.get("Name")),
            ", ".join(hook.get("OutgoingUrls") or []),
            str(hook.get("CreatedBy")),
        )
    console.print(table)
    if clean and found["count"]:
        console.print(f"deleted {found['count']} orphaned webhook(s)")
