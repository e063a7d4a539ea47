"""Every Python block of README.md runs as it stands.

- A block that defines ``test_*`` functions is a test file: all of them run in one pytester
  session, with the careflow plugin, and every test in them must pass.
- A block after ``<!-- fails ... -->`` is a test file whose tests must fail, and the ```text
  block right after it must appear, line for line, in what pytest prints.
- A block after ``<!-- fragment -->`` is only compiled (keep these few).
- Any other block is a script, run with ``exec``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
MAX_FRAGMENTS = 2


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    marker: str  # the HTML comment on the line before the fence, if any

    @property
    def kind(self) -> str:
        if self.marker.startswith("<!-- fragment"):
            return "fragment"
        if self.marker.startswith("<!-- fails"):
            return "fails"
        return "tests" if self.tests() else "script"

    def tests(self) -> list[str]:
        tree = ast.parse(self.code)
        return [
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")
        ]

    @property
    def filename(self) -> str:
        return f"test_readme_line_{self.line}.py"


def readme_blocks() -> list[Block]:
    lines = README.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if opened is None or not opened["lang"]:
            i += 1
            continue
        indent, start = opened["indent"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].rstrip() != f"{indent}```":
            body.append(lines[i])
            i += 1
        before = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        marker = before if before.startswith("<!--") else ""
        code = textwrap.dedent("\n".join(body)) + "\n"
        blocks.append(Block(start + 1, opened["lang"], code, marker))
        i += 1
    return blocks


BLOCKS = readme_blocks()
PYTHON = [b for b in BLOCKS if b.lang == "python"]


def test_the_readme_has_its_examples() -> None:
    kinds = [b.kind for b in PYTHON]
    assert kinds.count("tests") >= 5, "the Testing section's examples (one per vendor) are gone"
    assert kinds.count("fails") >= 1, "the failing verify example is gone"
    assert kinds.count("fragment") <= MAX_FRAGMENTS, "keep fragments few: make blocks runnable"
    for block in PYTHON:
        if block.kind == "fails":
            after = BLOCKS[BLOCKS.index(block) + 1]
            assert after.lang == "text", f"README.md:{block.line}: no output block after it"


def test_fragments_compile() -> None:
    for block in (b for b in PYTHON if b.kind == "fragment"):
        compile(block.code, f"README.md:{block.line}", "exec")


@pytest.mark.parametrize(
    "block", [b for b in PYTHON if b.kind == "script"], ids=lambda b: f"line{b.line}"
)
def test_scripts_run(block: Block) -> None:
    exec(compile(block.code, f"README.md:{block.line}", "exec"), {"__name__": "__readme__"})


def test_test_blocks_pass_and_the_failing_one_prints_what_the_readme_shows(
    pytester: pytest.Pytester,
) -> None:
    files = [b for b in PYTHON if b.kind in ("tests", "fails")]
    pytester.makepyfile(**{b.filename[:-3]: b.code for b in files})
    result = pytester.runpytest("-rA", "-p", "no:xdist", "-p", "no:randomly")
    out = result.stdout.lines
    problems = []
    for block in files:
        want = "FAILED" if block.kind == "fails" else "PASSED"
        for name in block.tests():
            line = f"{want} {block.filename}::{name}"
            if not any(ln.startswith(line) for ln in out):
                problems.append(f"README.md:{block.line}: {name} did not end {want}")
        if block.kind == "fails":
            shown = BLOCKS[BLOCKS.index(block) + 1]
            expected = [ln.rstrip() for ln in shown.code.splitlines()]
            printed = [ln.rstrip() for ln in out]
            if not any(printed[i : i + len(expected)] == expected for i in range(len(printed))):
                problems.append(
                    f"README.md:{shown.line}: pytest no longer prints this block as shown"
                )
    assert not problems, "\n".join(problems) + "\n\npytest printed:\n" + "\n".join(out)
