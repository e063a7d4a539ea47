"""``careflow contract check|cases|record|verify``: contract checks that fit a CI pipeline
(non-zero exit on any failure, one summary line, a report file, JUnit XML on request)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .report import DriftReport
from .target import RemoteRefused, Target, in_process, live
from .vendors import VENDORS, vendor

contract_app = typer.Typer(
    help="Check a fake or a real vendor URL against the vendor's spec, cases and recordings.",
    no_args_is_help=True,
)
# soft_wrap: a line stays one line, however narrow the terminal (CI logs are not a TTY, and
# Rich would wrap them at 80 columns)
console = Console(soft_wrap=True)

VendorArg = Annotated[str, typer.Argument(help=f"One of: {', '.join(VENDORS)}.")]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="A live target (careflow up's URL for the vendor, or a real vendor with "
        "--allow-remote); the in-process fake by default.",
    ),
]
AuthOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--auth",
        help="KEY=VALUE credential (e.g. api_token=…); or CAREFLOW_<VENDOR>_<KEY> variables. "
        "Never printed.",
    ),
]
RemoteOpt = Annotated[
    bool, typer.Option("--allow-remote", help="Allow a base URL that is not on this machine.")
]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Write the drift report (.md or .json).")
]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")]
RecordingsOpt = Annotated[
    Path | None,
    typer.Option(help="Recordings folder (default contracts/recordings/<vendor>)."),
]


def _target(
    name: str, base_url: str | None, auth: list[str] | None, allow_remote: bool, seed: int = 0
) -> Target:
    v = vendor(name)
    if base_url is None:
        return in_process(v, seed=seed)
    pairs = {}
    for item in auth or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--auth takes KEY=VALUE, not {item!r}")
        pairs[key.strip()] = value
    return live(v, base_url, pairs, allow_remote=allow_remote)


def _finish(report: DriftReport, path: Path | None, junit: Path | None) -> None:
    if path:
        report.write(path)
        console.print(f"report written to {path}")
    if junit:
        junit.write_text(report.to_junit())
        console.print(f"JUnit XML written to {junit}")
    for kind, name, ok, problems in report.items:
        if not ok:
            console.print(f"[red]✗ {kind} {name}[/red]")
            for p in problems:
                console.print(f"    {p}", markup=False, highlight=False)
    console.print(report.summary(), markup=False, highlight=False)
    raise typer.Exit(1 if report.failed else 0)


def _open(stack: ExitStack, *args: object) -> Target:
    try:
        return stack.enter_context(_target(*args))  # type: ignore[arg-type]
    except (RemoteRefused, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@contract_app.command("check")
def check(
    vendor_name: VendorArg,
    base_url: BaseUrlOpt = None,
    auth: AuthOpt = None,
    allow_remote: RemoteOpt = False,
    report: ReportOpt = None,
    junit: JunitOpt = None,
    max_examples: Annotated[int, typer.Option(help="Generated cases per operation.")] = 25,
    seed: Annotated[int, typer.Option(help="Hypothesis seed (same seed, same cases).")] = 0,
    cases: Annotated[bool, typer.Option(help="Also run the behavioural cases.")] = True,
) -> None:
    """Schemathesis over every operation of the spec (plus the behavioural cases)."""
    from .cases import run_cases
    from .check import check_spec

    with ExitStack() as stack:
        target = _open(stack, vendor_name, base_url, auth, allow_remote, seed)
        result = DriftReport(vendor_name, target.label)
        result.operations = check_spec(target, max_examples=max_examples, seed=seed)
        if cases:
            result.cases = run_cases(target)
    _finish(result, report, junit)


@contract_app.command("cases")
def cases_command(
    vendor_name: VendorArg,
    base_url: BaseUrlOpt = None,
    auth: AuthOpt = None,
    allow_remote: RemoteOpt = False,
    report: ReportOpt = None,
    junit: JunitOpt = None,
) -> None:
    """Only the behavioural cases of mocks/<vendor>/cases.yaml."""
    from .cases import run_cases

    with ExitStack() as stack:
        target = _open(stack, vendor_name, base_url, auth, allow_remote)
        result = DriftReport(vendor_name, target.label, cases=run_cases(target))
    _finish(result, report, junit)


@contract_app.command("record")
def record_command(
    vendor_name: VendorArg,
    base_url: BaseUrlOpt = None,
    har: Annotated[Path | None, typer.Option(help="Import a HAR file instead.")] = None,
    auth: AuthOpt = None,
    allow_remote: RemoteOpt = False,
    out: RecordingsOpt = None,
    scrub: Annotated[bool, typer.Option(help="Scrub secrets and PHI (default on).")] = True,
) -> None:
    """Capture request/response pairs (the cases run against --base-url, or a HAR file)."""
    from .recordings import import_har, record

    folder = out or default_recordings(vendor_name)
    if har:
        written = import_har(vendor_name, har, folder, clean=scrub)
    else:
        if base_url is None:
            console.print("[red]record needs --base-url (what to record) or --har[/red]")
            raise typer.Exit(2)
        with ExitStack() as stack:
            target = _open(stack, vendor_name, base_url, auth, allow_remote)
            written = record(target, folder, clean=scrub)
    for path in written:
        console.print(f"recorded {path}")
    console.print(f"{len(written)} recordings in {folder}" + ("" if scrub else " (NOT scrubbed)"))


@contract_app.command("verify")
def verify_command(
    vendor_name: VendorArg,
    recordings: RecordingsOpt = None,
    report: ReportOpt = None,
    junit: JunitOpt = None,
) -> None:
    """Replay the recordings against the in-process fake and list every difference."""
    from .recordings import verify

    folder = recordings or default_recordings(vendor_name)
    files = sorted(folder.glob("*.json"))
    if not files:
        console.print(f"[yellow]no recordings in {folder}: run `careflow contract record`[/yellow]")
        raise typer.Exit(1)
    with ExitStack() as stack:
        target = _open(stack, vendor_name, None, None, False)
        result = DriftReport(vendor_name, target.label, recordings=verify(target, files))
    _finish(result, report, junit)


def default_recordings(vendor_name: str) -> Path:
    return Path("contracts") / "recordings" / vendor(vendor_name).name
