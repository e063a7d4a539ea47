"""CLI output that reads well at 80 columns and in CI logs: credentials whole on one line each,
timelines one event per line, clean --help, NO_COLOR honoured, --json on every command that
prints data (the document alone on stdout)."""

from __future__ import annotations

import io
import re
import shlex
from typing import Any

import pytest
import typer
from rich.console import Console

from careflow.scenarios.cli import app
from careflow.scenarios.console import credential_lines, print_stack
from careflow.scenarios.format import builtin_scenarios, load_scenario
from careflow.scenarios.report import describe
from careflow.scenarios.timeline import Event, render_lines

from .cli_support import invoke, json_of

ROOT = typer.main.get_command(app)
TOKEN = "sbx_test_004e1e7c339b015341d24675074af491e78201b2f49b4f793eb94e5"  # 69 characters
INFO: dict[str, Any] = {
    "engine": {"url": "http://127.0.0.1:8400"},
    "whatconverts": {"url": "http://127.0.0.1:8401", "api_token": "sbx_" + "a" * 28},
    "caspio": {"url": "http://127.0.0.1:8402", "profile_name": "Keragon demo"},
    "ours": {"url": "http://127.0.0.1:8403", "token": "sbx_" + "b" * 60, "test_token": TOKEN},
    "ca_file": "/tmp/careflow-ca/ca.pem",
}


def commands(group: Any = ROOT, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command's words, e.g. ("contract", "check"). (Typer may bring its own copy of
    click: groups are told by their ``commands``.)"""
    out = []
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            out += commands(command, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


def command(words: tuple[str, ...]) -> Any:
    found: Any = ROOT
    for word in words:
        found = found.commands[word]
    return found


LEAVES = commands()


def test_credentials_print_whole_one_per_line_and_paste_back_into_a_shell():
    out = io.StringIO()
    print_stack(Console(file=out, width=80, force_terminal=False), INFO)
    printed = out.getvalue().splitlines()
    assert f"CAREFLOW_OURS_TEST_TOKEN={TOKEN}" in printed  # 94 characters, never folded
    pasted: dict[str, str] = {}
    for line in credential_lines(INFO):
        assert line in printed
        (word,) = shlex.split(line)  # one shell word: KEY=value
        key, _, value = word.partition("=")
        pasted[key] = value
    assert pasted["CAREFLOW_CASPIO_PROFILE_NAME"] == "Keragon demo"
    assert pasted["CAREFLOW_WHATCONVERTS_API_TOKEN"] == INFO["whatconverts"]["api_token"]
    assert pasted["CAREFLOW_CA_FILE"] == INFO["ca_file"]
    # the names `careflow contract check` reads credentials from
    assert "CAREFLOW_OURS_TOKEN" in pasted and "CAREFLOW_ENGINE_URL" in pasted


@pytest.mark.parametrize("words", [(), *LEAVES, ("contract",), ("caspio",)], ids=" ".join)
def test_help_is_plain_at_80_columns_without_type_placeholders(words):
    result = invoke(*words, "--help")
    assert result.exit_code == 0, result.output
    text = result.output
    assert not re.search(r"<(bool|int|str|path|float|list\[[^>]*\])>", text), text
    assert "[default: no-" not in text  # flags say nothing about a default
    assert max(map(len, text.splitlines())) <= 80, text
    assert "Usage: careflow" in text


@pytest.mark.parametrize("words", LEAVES, ids=" ".join)
def test_every_command_takes_json(words):
    names = {opt for param in command(words).params for opt in getattr(param, "opts", [])}
    assert "--json" in names


def test_no_color_is_honoured():
    failing = builtin_scenarios()[0].stem  # any output with colour: the summary's "passed"
    coloured = invoke("run", failing, "--quiet", env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"})
    plain = invoke("run", failing, "--quiet", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert coloured.exit_code == plain.exit_code == 0, plain.output
    colour = re.compile(r"\x1b\[[0-9;]*(3[0-9]|38;|9[0-7])[0-9;]*m")
    assert colour.search(coloured.output), "FORCE_COLOR alone should colour (the test's control)"
    assert not colour.search(plain.output)


def test_timeline_lines_keep_paths_and_ids_whole():
    path = "/integrations/rest/v3/tables/Patients/records"
    events = [
        Event("2026-03-02T09:00:00Z", 1, 1, "caspio", "request", f"POST {path}", "201", "scn-0001"),
        Event(
            "2026-03-02T09:00:00Z",
            2,
            2,
            "engine",
            "step",
            "  create_patient",
            "Failed x6 Caspio answered 500",
            "0123456789abcdef",
        ),
    ]
    lines = render_lines(events)
    assert lines[0].split() == [
        "time",
        "correlation",
        "id",
        "service",
        "kind",
        "what",
        "—",
        "status",
    ]
    assert f"POST {path} — 201" in lines[1]
    assert (
        "0123456789ab…" in lines[2]
        and "create_patient — Failed x6 Caspio answered 500" in (lines[2])
    )
    # aligned: the kind column starts at the same place on every line
    assert len({line.index("request") for line in lines[1:2]} | {lines[2].index("step")}) == 1


def test_scenarios_list_whole_descriptions_at_80_columns():
    result = invoke("scenarios")
    assert result.exit_code == 0
    flowing = " ".join(result.output.split())
    for path in builtin_scenarios():
        first = describe(load_scenario(path).description, first_paragraph=True)
        assert " ".join(first.split()) in flowing, path.stem
        assert path.stem in result.output.splitlines()  # a name alone on its line, to copy
    listed = json_of(invoke("scenarios", "--json"))
    assert [s["name"] for s in listed] == [p.stem for p in builtin_scenarios()]


def test_json_reads_one_value_of_a_document():
    doc = '{"engine": {"url": "http://127.0.0.1:8400"}, "items": [{"id": "wf_1"}], "n": 3}'
    assert invoke("json", "engine.url", input=doc).stdout == "http://127.0.0.1:8400\n"
    assert invoke("json", "items.0.id", "-", input=doc).stdout == "wf_1\n"
    assert invoke("json", "engine", input=doc).stdout == '{"url": "http://127.0.0.1:8400"}\n'
    assert invoke("json", "n", "--json", input=doc).stdout == "3\n"
    missing = invoke("json", "engine.port", input=doc)
    assert missing.exit_code == 1 and "no 'port'" in missing.stderr and "url" in missing.stderr
    assert invoke("json", ".", input="not json").exit_code == 2


def test_examples_print_and_list():
    listed = json_of(invoke("example", "--json"))
    assert {e["name"] for e in listed} == {"workflow", "walkthrough", "github-actions"}
    workflow = invoke("example", "workflow")
    assert workflow.exit_code == 0 and "name: New patient inquiry follow-up" in workflow.stdout
    assert invoke("example", "nope").exit_code == 2


def test_bench_json_is_a_document(monkeypatch):
    from careflow.scenarios import bench
    from careflow.scenarios.bench import Measure

    monkeypatch.setattr(bench, "discover", lambda: {"tiny": lambda ctx: [Measure("m", 1.0, "ms")]})
    found = json_of(invoke("bench", "--json"))
    assert found["results"] == [
        {
            "benchmark": "tiny",
            "measure": "m",
            "value": 1.0,
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "note": "",
        }
    ]


def test_commands_on_a_running_stack_print_json(stack_info):
    engine = stack_info["engine"]["url"]
    assert json_of(invoke("info", "--url", engine, "--json")) == stack_info
    orphans = json_of(invoke("caspio", "orphans", "--url", engine, "--json"))
    assert orphans["count"] == 0 and orphans["deleted"] == 0
    lines = invoke("info", "--url", engine).stdout.splitlines()
    assert f"CAREFLOW_OURS_TEST_TOKEN={stack_info['ours']['test_token']}" in lines
