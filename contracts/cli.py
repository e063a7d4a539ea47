"""``careflow contract check|cases|record|verify``: contract checks that fit a CI pipeline
(non-zero exit on any failure, one summary line, a report file, JUnit XML on request)."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from careflow.mocks import VENDORS

if TYPE_CHECKING:
    from .report import DriftReport
    from .target import Target

contract_app = typer.Typer(
    help="Check fakes or real vendors: spec, cases, recordings.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
# soft_wrap: a line stays one line, however narrow the terminal (CI logs are not a TTY, and
# Rich would wrap them at 80 columns)
console = Console(soft_wrap=True, highlight=False)

# hidden: typer would print its type beside it; each command's help says what VENDOR is
VendorArg = Annotated[str, typer.Argument(metavar="VENDOR", hidden=True)]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="A live target (careflow up's URL for the vendor, or a real vendor with "
        "--allow-remote); the in-process fake by default.",
    ),
]
InfoFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--info-file",
        metavar="FILE",
        help="A running stack's info file (careflow up --info-file): the vendor's URL and demo "
        "credentials come from it.",
    ),
]
StackUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="ENGINE_URL",
        help="A running stack's engine URL (e.g. http://127.0.0.1:8400): the vendor's URL and "
        "demo credentials come from its /__sandbox/stack.",
    ),
]
AuthOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--auth",
        metavar="KEY=VALUE",
        help="A credential (e.g. api_token=…), repeatable; or CAREFLOW_<VENDOR>_<KEY> variables. "
        "Never printed.",
    ),
]
RemoteOpt = Annotated[
    bool,
    typer.Option(
        "--allow-remote", help="Allow a base URL that is not on this machine.", show_default=False
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", metavar="FILE", help="Write the drift report (.md or .json)."),
]
JunitOpt = Annotated[
    Path | None, typer.Option("--junit", metavar="FILE", help="Write JUnit XML here.")
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the report as JSON on stdout (the summary goes to stderr).",
        show_default=False,
    ),
]
RecordingsOpt = Annotated[
    Path | None,
    typer.Option(metavar="DIR", help="Recordings folder (default contracts/recordings/<vendor>)."),
]


def stack_info(info_file: Path | None, url: str | None) -> dict[str, Any]:
    """What ``careflow up`` says about its stack: its info file, or its engine's
    ``/__sandbox/stack`` (the same JSON)."""
    import httpx

    if info_file is not None:
        try:
            return json.loads(info_file.read_text())  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise ValueError(
                f"{info_file}: no such file — is `careflow up --info-file {info_file}` running?"
            ) from None
        except ValueError as exc:
            raise ValueError(f"{info_file}: not a careflow info file ({exc})") from None
    assert url is not None
    try:
        response = httpx.get(f"{url.rstrip('/')}/__sandbox/stack", timeout=10)
    except httpx.HTTPError as exc:
        raise ValueError(f"no careflow stack answers at {url} ({exc}): is it running?") from None
    if response.status_code != 200:
        raise ValueError(f"{url} answered {response.status_code}: not a careflow engine URL")
    return response.json()  # type: ignore[no-any-return]


def _from_stack(
    name: str, info_file: Path | None, url: str | None, base_url: str | None
) -> tuple[str, dict[str, str]]:
    """The vendor's URL and demo credentials in a running stack's info."""
    from .vendors import vendor

    if base_url is not None:
        raise ValueError("give --base-url, or --info-file / --url (a running stack), not both")
    if info_file is not None and url is not None:
        raise ValueError("give --info-file or --url, not both")
    info = stack_info(info_file, url)
    v = vendor(name)
    entry = info.get(v.name)
    if not isinstance(entry, dict) or "url" not in entry:
        raise ValueError(f"the stack serves no {v.name} fake (it has: {', '.join(info)})")
    creds = {k: str(entry[k]) for k in v.credential_keys if k in entry}
    return entry["url"], creds


def _target(
    name: str,
    base_url: str | None,
    auth: list[str] | None,
    allow_remote: bool,
    seed: int = 0,
    info_file: Path | None = None,
    url: str | None = None,
) -> Target:
    from .target import in_process, live
    from .vendors import vendor

    v = vendor(name)
    pairs: dict[str, str] = {}
    if info_file is not None or url is not None:
        base_url, pairs = _from_stack(name, info_file, url, base_url)
    if base_url is None:
        return in_process(v, seed=seed)
    for item in auth or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--auth takes KEY=VALUE, not {item!r}")
        pairs[key.strip()] = value
    return live(v, base_url, pairs, allow_remote=allow_remote)


def _finish(
    report: DriftReport, path: Path | None, junit: Path | None, as_json: bool = False
) -> None:
    out = Console(soft_wrap=True, highlight=False, stderr=True) if as_json else console
    if path:
        report.write(path)
        out.print(f"report written to {path}")
    if junit:
        junit.write_text(report.to_junit())
        out.print(f"JUnit XML written to {junit}")
    for kind, name, ok, problems in report.items:
        if not ok:
            out.print(f"✗ {kind} {name}", style="red", markup=False)
            for p in problems:
                out.print(f"    {p}", markup=False)
    out.print(report.summary(), markup=False)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    raise typer.Exit(1 if report.failed else 0)


def _open(stack: ExitStack, *args: Any, **kwargs: Any) -> Target:
    from .target import RemoteRefused

    try:
        return stack.enter_context(_target(*args, **kwargs))
    except (RemoteRefused, ValueError) as exc:
        console.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from None


VENDORS_SAID = f"VENDOR: {', '.join(VENDORS)}."
TARGET_SAID = (
    "The target is the in-process fake, --base-url, or a running stack's fake (--info-file or "
    "--url, which give its URL and demo credentials)."
)


@contract_app.command(
    "check",
    help="Check VENDOR's spec (schemathesis) and behavioural cases.\n\n"
    f"{VENDORS_SAID} {TARGET_SAID}",
)
def check(
    vendor_name: VendorArg,
    base_url: BaseUrlOpt = None,
    info_file: InfoFileOpt = None,
    url: StackUrlOpt = None,
    auth: AuthOpt = None,
    allow_remote: RemoteOpt = False,
    report: ReportOpt = None,
    junit: JunitOpt = None,
    max_examples: Annotated[
        int, typer.Option(metavar="N", help="Generated cases per operation.")
    ] = 25,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Hypothesis seed (same seed, same cases).")
    ] = 0,
    cases: Annotated[
        bool, typer.Option("--cases/--no-cases", help="Also run the behavioural cases.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    from .cases import run_cases
    from .check import check_spec
    from .report import DriftReport

    with ExitStack() as stack:
        target = _open(
            stack, vendor_name, base_url, auth, allow_remote, seed, info_file=info_file, url=url
        )
        result = DriftReport(vendor_name, target.label)
        result.operations = check_spec(target, max_examples=max_examples, seed=seed)
        if cases:
            result.cases = run_cases(target)
    _finish(result, report, junit, as_json)


@contract_app.command(
    "cases",
    help="Only the behavioural cases of mocks/<vendor>/cases.yaml.\n\n"
    f"{VENDORS_SAID} {TARGET_SAID}",
)
def cases_command(
    vendor_name: VendorArg,
    base_url: BaseUrlOpt = None,
    info_file: InfoFileOpt = None,
    url: StackUrlOpt = None,
    auth: AuthOpt = None,
    allow_remote: RemoteOpt = False,
    report: ReportOpt = None,
    junit: JunitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from .cases import run_cases
    from .report import DriftReport

    with ExitStack() as stack:
        target = _open(
            stack, vendor_name, base_url, auth, allow_remote, info_file=info_file, url=url
        )
        result = DriftReport(vendor_name, target.label, cases=run_cases(target))
    _finish(result, report, junit, as_json)


@contract_app.command(
    "record",
    help="Capture request/response pairs, scrubbed.\n\n"
    f"{VENDORS_SAID} The cases run against --base-url (or --info-file / --url), or a HAR "
    "file is imported (--har).",
)
def record_command(
    vendor_name: VendorArg,
    base_url: BaseUrlOpt = None,
    har: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Import a HAR file instead.")
    ] = None,
    info_file: InfoFileOpt = None,
    url: StackUrlOpt = None,
    auth: AuthOpt = None,
    allow_remote: RemoteOpt = False,
    out: RecordingsOpt = None,
    scrub: Annotated[
        bool, typer.Option("--scrub/--no-scrub", help="Scrub secrets and PHI (default on).")
    ] = True,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the files written as JSON.", show_default=False),
    ] = False,
) -> None:
    from .recordings import import_har, record

    folder = out or default_recordings(vendor_name)
    if har:
        written = import_har(vendor_name, har, folder, clean=scrub)
    else:
        if base_url is None and info_file is None and url is None:
            console.print("record needs --base-url (what to record) or --har", style="red")
            raise typer.Exit(2)
        with ExitStack() as stack:
            target = _open(
                stack, vendor_name, base_url, auth, allow_remote, info_file=info_file, url=url
            )
            written = record(target, folder, clean=scrub)
    out = Console(soft_wrap=True, highlight=False, stderr=True) if as_json else console
    for path in written:
        out.print(f"recorded {path}", markup=False)
    out.print(
        f"{len(written)} recordings in {folder}" + ("" if scrub else " (NOT scrubbed)"),
        markup=False,
    )
    if as_json:
        sys.stdout.write(
            json.dumps({"folder": str(folder), "scrubbed": scrub, "files": list(map(str, written))})
            + "\n"
        )


@contract_app.command(
    "verify",
    help="Replay the recordings on the in-process fake, list differences.\n\n" + VENDORS_SAID,
)
def verify_command(
    vendor_name: VendorArg,
    recordings: RecordingsOpt = None,
    report: ReportOpt = None,
    junit: JunitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from .recordings import verify
    from .report import DriftReport

    folder = recordings or default_recordings(vendor_name)
    files = sorted(folder.glob("*.json"))
    if not files:
        console.print(f"no recordings in {folder}: run `careflow contract record`", style="yellow")
        raise typer.Exit(1)
    with ExitStack() as stack:
        target = _open(stack, vendor_name, None, None, False)
        result = DriftReport(vendor_name, target.label, recordings=verify(target, files))
    _finish(result, report, junit, as_json)


def default_recordings(vendor_name: str) -> Path:
    from .vendors import vendor

    return Path("contracts") / "recordings" / vendor(vendor_name).name
