"""The examples ``careflow example NAME`` prints (files in ``examples/`` beside this module,
shipped in the package): the README shows the same text, and tests run it as shown."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent / "examples"

# name → (file, what it is)
EXAMPLES: dict[str, tuple[str, str]] = {
    "workflow": (
        "workflow.yaml",
        "the README's workflow: a new lead → a Caspio patient → an event",
    ),
    "walkthrough": ("walkthrough.sh", "the README's engine walkthrough over HTTP (curl, no jq)"),
    "github-actions": ("github-actions.yml", "a CI job: sandbox, your tests, scenarios, contracts"),
}


def path_of(name: str) -> Path:
    return FOLDER / EXAMPLES[name][0]


def text_of(name: str) -> str:
    return path_of(name).read_text()
