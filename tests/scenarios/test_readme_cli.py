"""The README's command-line parts run as written: the shipped examples are the README's text,
every ``careflow`` command in a bash block parses, the engine walkthrough runs against
``careflow up``, and the GitHub Actions job is valid and its ``run:`` scripts pass against a
local stack."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from careflow.scenarios.cli import app
from careflow.scenarios.example import EXAMPLES, text_of
from careflow.scenarios.format import builtin_dir
from careflow.scenarios.server import spawn_up, stop_up

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
ROOT = typer.main.get_command(app)
BIN = str(Path(sys.executable).parent)  # where this environment's `careflow` and `python` are


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def shell_env() -> dict[str, str]:
    """A shell that finds this environment's ``careflow`` and ``python`` first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "COLUMNS": "80"}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_readme_shows_each_shipped_example_as_it_is(name):
    language = {"workflow": "yaml", "walkthrough": "bash", "github-actions": "yaml"}[name]
    if name == "workflow":  # the README shows it inside the scenario; the file is DESIGN.md's
        design = (Path(__file__).resolve().parents[2] / "docs/DESIGN.md").read_text()
        body = text_of(name).split("\nname:", 1)[1]
        assert "name:" + body in design
        return
    assert text_of(name) in blocks(language), f"README's {name} differs from the shipped file"


SHELL_OPERATORS = {">", ">>", "<", "|", "&&", "||", ";", "&"}


def careflow_lines() -> list[list[str]]:
    """Every ``careflow ...`` command of the README's bash blocks, as argv (continuations
    joined, comments dropped)."""
    found = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True) if line.strip() else []
            if words[:1] == ["careflow"]:
                ends = [i for i, w in enumerate(words) if w in SHELL_OPERATORS]
                found.append(words[1 : ends[0] if ends else None])
    return found


def test_every_careflow_command_in_the_readme_parses():
    lines = careflow_lines()
    assert len(lines) >= 8
    for argv in lines:
        command: Any = ROOT
        words = list(argv)
        while hasattr(command, "commands") and words and words[0] in command.commands:
            command = command.commands[words.pop(0)]
        assert not hasattr(command, "commands") or not words, f"careflow {shlex.join(argv)}"
        # options and arguments as the command takes them (nothing runs)
        command.make_context("careflow", words)


@pytest.mark.skipif(
    shutil.which("curl") is None, reason="curl is not installed: apt-get install -y curl"
)
def test_the_engine_walkthrough_runs_as_the_readme_shows_it(tmp_path: Path):
    script = next(b for b in blocks("bash") if "careflow json engine.url stack.json" in b)
    proc = spawn_up(tmp_path / "stack.json")
    try:
        out = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=shell_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop_up(proc)
    assert out.returncode == 0, out.stdout + out.stderr
    answers = out.stdout.splitlines()
    assert answers[0] == '{"status":"reset","service":"engine"}'
    assert [a.split('"name":')[1].split(",")[0] for a in answers[1:4]] == [
        '"wc-demo"',
        '"caspio-demo"',
        '"ours-demo"',
    ]
    assert '"status":"active"' in answers[4]
    assert '"contact_name":"Pat Example"' in answers[5]
    assert answers[8] == "Completed"
    assert [a.split('"status": ')[1].split(",")[0] for a in answers[9:]] == ['"Completed"'] * 3
    assert all(a.startswith(("{", "Completed")) for a in answers), "one answer per line"


def workflow_of(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    # YAML 1.1 reads the key `on` as True
    assert isinstance(data, dict) and data.get("name")
    assert data.get("on", data.get(True)) == ["push", "pull_request"]
    (job,) = data["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    for step in job["steps"]:
        assert ("uses" in step) != ("run" in step), step  # each step does one thing
        assert set(step) <= {"name", "uses", "run", "with", "env", "if"}, step
        assert isinstance(step.get("run", ""), str) and isinstance(step.get("with", {}), dict)
    return job


def test_the_readme_github_actions_yaml_is_a_valid_workflow():
    (ci,) = [b for b in blocks("yaml") if "jobs:" in b]
    job = workflow_of(ci)
    uses = [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert "actions/upload-artifact" in uses
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
    step = [b for b in blocks("yaml") if "contract check caspio" in b]  # the vendor-sandbox step
    assert step and all(isinstance(yaml.safe_load(b), list) for b in step)


def test_the_readme_github_actions_job_runs_against_a_local_stack(tmp_path: Path):
    """Each ``run:`` script as written, in order, in a fresh folder, with bash -e as GitHub runs
    it. Only the ``pip install`` line is skipped (this test runs in the installed package's own
    environment); the folder holds what the job expects of the user's repository: a ``tests``
    folder (one test that reads stack.json) and a ``scenarios`` folder (one built-in scenario)."""
    (ci,) = [b for b in blocks("yaml") if "jobs:" in b]
    job = workflow_of(ci)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_stack.py").write_text(
        "import json\n\nimport httpx\n\n\n"
        "def test_the_sandbox_answers():\n"
        "    info = json.load(open('stack.json'))\n"
        "    assert httpx.get(info['engine']['url'] + '/__sandbox/health').status_code == 200\n"
    )
    (tmp_path / "scenarios").mkdir()
    shutil.copy(builtin_dir() / "wc_quote_marks_quotable.yaml", tmp_path / "scenarios")
    ran = []
    try:
        for step in job["steps"]:
            if "run" not in step:
                continue  # GitHub's own actions (checkout, setup-python, upload-artifact, …)
            script = "\n".join(
                line for line in step["run"].splitlines() if not line.startswith("pip install")
            )
            out = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=tmp_path,
                env=shell_env(),
                capture_output=True,
                text=True,
                timeout=180,
            )
            ran.append(step["name"])
            assert out.returncode == 0, f"{step['name']}:\n{out.stdout}\n{out.stderr}"
    finally:
        pid = tmp_path / "careflow-up.pid"
        if pid.exists():  # a failed step left the stack up
            subprocess.run(["kill", pid.read_text().strip()], check=False)
    assert "Stop the sandbox" in ran
    reports = {p.name for p in (tmp_path / "reports").iterdir()}
    assert {"tests.xml", "scenarios.xml", "scenarios.html", "careflow-up.log"} <= reports
    assert {"contract-whatconverts.md", "contract-whatconverts.xml"} <= reports
    assert 'failures="0"' in (tmp_path / "reports" / "scenarios.xml").read_text()
