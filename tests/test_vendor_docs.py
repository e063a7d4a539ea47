"""Vendor facts live in the repository and every citation of them resolves (docs/DESIGN.md,
"Vendor facts are cited in one form everywhere").

A citation is ``[C] caspio.md §6.2``: a status tag, a facts file under ``docs/vendors/`` and a §
number that is a numbered heading of that file (``## 6.``, ``### 6.2``). Inside a module whose
header — a Python module's docstring, a YAML file's leading comments or ``info.description`` —
names exactly one facts file, the file may be left out (``[C] §6.2``); a bare § on a line that
already named a facts file belongs to that file (``caspio.md §2, §10``). Standards cited the same
way (``RFC 9110 §10.2.3``) are not vendor facts and are skipped.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VENDOR_DOCS = ROOT / "docs" / "vendors"
FACT_FILES = ("caspio.md", "keragon.md", "ours-privacy.md", "whatconverts.md")
TAGS = ("[C]", "[O]", "[I]", "[?]")
# Where citations are looked for: code, specs, case files, scenarios and tests.
CODE_DIRS = ("careflow", "mocks", "engine", "contracts", "scenarios", "tests")
CODE_SUFFIXES = (".py", ".yaml", ".yml")
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
THIS = Path(__file__).resolve()

HEADING = re.compile(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s")
# §5.4, §6.1-6.2, § 3; not the prose "§ numbers" / "§n" (no digit follows).
CITE = re.compile(r"§\s?(\d+(?:\.\d+)*)(?:\s?[-\u2013]\s?§?(\d+(?:\.\d+)*))?")
ODD = re.compile(r"§\s?[A-Z]\w*\d")  # a source id written as a section: "§P10"
STANDARD = re.compile(r"\b(?:RFC|ISO|IEC)\s?[\d-]+\s*$")
NAMED = re.compile(r"([\w-]+\.md)")
EXPLICIT = re.compile(r"([\w-]+\.md)\s*$")
# Out-of-repo pointers; spelled in two halves so this file does not match itself.
OUTSIDE = ("shared/" + "vendors", "/" + "work/")


@dataclass(frozen=True)
class Citation:
    path: str
    line: int
    text: str  # "§6.2"
    facts: str | None  # "caspio.md", or None when nothing names the file
    sections: tuple[str, ...]


def _files(dirs: tuple[str, ...], suffixes: tuple[str, ...]) -> list[Path]:
    out = []
    for top in dirs:
        for p in sorted((ROOT / top).rglob("*")):
            if (
                p.is_file()
                and p.suffix in suffixes
                and not SKIP_DIRS.intersection(p.relative_to(ROOT).parts)
                and not any(part.endswith(".egg-info") for part in p.parts)
                and p.resolve() != THIS
            ):
                out.append(p)
    return out


@cache
def doc_sections(name: str) -> frozenset[str]:
    """The § numbers a facts file defines: its numbered headings."""
    path = VENDOR_DOCS / name
    if not path.is_file():
        return frozenset()
    found = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            found.add(m.group(1))
    return frozenset(found)


def header(path: Path, text: str) -> str:
    """What a module says about itself: its docstring, or a YAML file's leading comments and
    ``info.description``; a facts file is its own header."""
    if path.suffix == ".py":
        try:
            return ast.get_docstring(ast.parse(text)) or ""
        except SyntaxError:
            return ""
    if path.suffix == ".md":
        return path.name
    lead = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lead.append(line)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    info = data.get("info") if isinstance(data, dict) else None
    if isinstance(info, dict) and isinstance(info.get("description"), str):
        lead.append(info["description"])
    return "\n".join(lead)


def named_facts(text: str) -> list[str]:
    return [n for n in NAMED.findall(text) if n in FACT_FILES]


def citations(path: Path) -> tuple[list[Citation], list[str]]:
    """Every vendor-fact citation in a file, with the facts file it resolves to, plus the
    citations written in a form this test cannot read (``§P10``)."""
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(ROOT).as_posix()
    own = sorted(set(named_facts(header(path, text))))
    default = own[0] if len(own) == 1 else None
    found, odd = [], []
    for n, line in enumerate(text.splitlines(), 1):
        odd += [f"{rel}:{n}: {m.group(0)}" for m in ODD.finditer(line)]
        for m in CITE.finditer(line):
            before = line[: m.start()]
            if STANDARD.search(before):
                continue
            on_line = named_facts(before)
            facts = on_line[-1] if on_line else default
            if explicit := EXPLICIT.search(before):
                facts = explicit.group(1)  # "caspio.md §6.2", or "DESIGN.md §3" (not a facts file)
            secs = tuple(s for s in m.groups() if s)
            found.append(Citation(rel, n, m.group(0), facts, secs))
    return found, odd


@cache
def code_citations() -> tuple[list[Citation], list[str]]:
    all_found, all_odd = [], []
    for path in _files(CODE_DIRS, CODE_SUFFIXES):
        found, odd = citations(path)
        all_found += found
        all_odd += odd
    return all_found, all_odd


def _where(c: Citation) -> str:
    return f"{c.path}:{c.line}: {c.text}"


# --- the facts files themselves ------------------------------------------------------------


def test_facts_files_exist_and_point_at_the_one_legend() -> None:
    assert sorted(p.name for p in VENDOR_DOCS.glob("*.md")) == sorted(FACT_FILES)
    for name in FACT_FILES:
        lines = [ln for ln in (VENDOR_DOCS / name).read_text(encoding="utf-8").splitlines() if ln]
        assert lines[0].startswith("# "), name
        pointer = lines[1]
        assert "docs/DESIGN.md" in pointer and "legend" in pointer, (name, pointer)
        assert all(tag in pointer for tag in TAGS), (name, pointer)


def test_facts_files_use_only_the_legend_tags() -> None:
    """Status words of the old copies (CONFIRMED, OBSERVED, …) are normalised to the tags."""
    words = re.compile(r"\b(CONFIRMED|OBSERVED|INFERRED|UNKNOWN)\b")
    for name in FACT_FILES:
        text = (VENDOR_DOCS / name).read_text(encoding="utf-8")
        assert not words.findall(text), name


def _strip_code(text: str) -> str:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _source_section(text: str) -> str:
    """The source list at the bottom: from the last heading that names sources."""
    heads = [m for m in re.finditer(r"^## .*Sources.*$", text, flags=re.M)]
    assert heads, "no source list"
    return text[heads[-1].end() :]


@pytest.mark.parametrize("name", FACT_FILES)
def test_every_source_reference_resolves(name: str) -> None:
    """A bracketed reference (``[S1]``, ``[P3 …]``, ``[wc-overview]``, ``[sdk-node `README.md`]``)
    names a source the file's source list defines."""
    text = (VENDOR_DOCS / name).read_text(encoding="utf-8")
    sources = _source_section(text)
    defined = set(re.findall(r"^- \[([^\]\s]+)\]", sources, flags=re.M))
    assert defined, name
    body = _strip_code(text[: len(text) - len(sources)])
    used = {
        m.group(1)
        for m in re.finditer(r"\[([A-Za-z?][^\]\s]*)(?:\s[^\]]*)?\]", body)
        if f"[{m.group(1)}]" not in TAGS
    }
    assert used - defined == set(), f"{name}: undefined source ids"


@pytest.mark.parametrize("name", FACT_FILES)
def test_section_numbers_are_unique_and_in_order(name: str) -> None:
    text = (VENDOR_DOCS / name).read_text(encoding="utf-8")
    nums = [m.group(1) for ln in text.splitlines() if (m := HEADING.match(ln))]
    assert len(nums) == len(set(nums)), name
    body = [n for n in nums if n != "0"]  # whatconverts.md keeps its "0. Sources" at the end
    key = [tuple(int(x) for x in n.split(".")) for n in body]
    assert key == sorted(key), name


def test_cross_references_inside_the_facts_files_resolve() -> None:
    bad = []
    for name in FACT_FILES:
        found, odd = citations(VENDOR_DOCS / name)
        bad += odd
        bad += [_where(c) for c in found if any(s not in doc_sections(c.facts) for s in c.sections)]
    assert bad == []


# --- citations in code, specs, case files and tests -------------------------------------------


def test_citations_that_name_their_facts_file_resolve() -> None:
    """(a) Every citation whose facts file is known — written out, earlier on the line, or named
    by the module's header — points at a file under docs/vendors/ and a § it has."""
    found, _ = code_citations()
    assert len(found) > 100  # the scan does see the code's citations
    bad = [
        f"{_where(c)} → {c.facts}"
        for c in found
        if c.facts is not None
        and (c.facts not in FACT_FILES or any(s not in doc_sections(c.facts) for s in c.sections))
    ]
    assert bad == []


def test_every_citation_names_its_facts_file() -> None:
    """(a) A short citation (``[C] §5``) is allowed only in a module whose header names its
    facts file; a § written as a source id (``§P10``) is not a citation form."""
    found, odd = code_citations()
    unresolved = [_where(c) for c in found if c.facts is None]
    assert unresolved + odd == []


def _outside_mentions(paths: list[Path]) -> list[str]:
    hits = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(o in line for o in OUTSIDE):
                hits.append(f"{path.relative_to(ROOT).as_posix()}:{n}: {line.strip()}")
    return hits


def test_docs_point_inside_the_repository() -> None:
    """(b) The facts files, DESIGN.md and the README cite nothing outside the repository."""
    docs = [ROOT / "README.md", *_files(("docs",), (".md",))]
    assert _outside_mentions(docs) == []


def test_code_points_inside_the_repository() -> None:
    """(b) No code, spec or case file points at facts outside the repository."""
    assert _outside_mentions(_files(CODE_DIRS, CODE_SUFFIXES)) == []
