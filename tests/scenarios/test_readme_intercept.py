"""The README's interception example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_intercept_example_runs() -> None:
    text = README.read_text()
    block = re.search(r"<!-- README example: intercept -->\n```python\n(.*?)```", text, re.S)
    assert block is not None, "the README lost its intercept example"
    exec(compile(block.group(1), "README.md (intercept example)", "exec"), {})
