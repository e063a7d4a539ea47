"""The layout of docs/DESIGN.md, checked mechanically: which part may import which, every
package folder installed under ``careflow``, and modules and classes of a readable size."""

from __future__ import annotations

import ast
import tomllib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# import name → folder (pyproject's package-dir)
FOLDERS = {
    "careflow": ROOT / "careflow",
    "careflow.mocks": ROOT / "mocks",
    "careflow.contracts": ROOT / "contracts",
    "careflow.engine": ROOT / "engine",
    "careflow.scenarios": ROOT / "scenarios",
}
VENDOR_PACKAGES = sorted(
    f"careflow.mocks.{p.name}"
    for p in (ROOT / "mocks").iterdir()
    if (p / "__init__.py").exists() and p.name != "kernel"
)
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300
REASON = "Long on purpose:"  # what a module's docstring says when it is over the limit


@cache
def modules() -> dict[str, Path]:
    """Every module of the distribution by its import name."""
    out = {"careflow": FOLDERS["careflow"] / "__init__.py"}
    for name, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts or (name == "careflow" and path.parent != folder):
                continue
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([name, *parts])] = path
    return out


def imports_of(module: str, path: Path) -> set[str]:
    """``careflow.*`` modules that ``module`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from careflow.mocks import caspio` imports the sub-package
            found.update(f"{target}.{alias.name}" for alias in node.names)
    known = modules()
    return {name for name in found if name.startswith("careflow") and name in known}


def part_of(module: str) -> str:
    """The part of the layout table a module belongs to."""
    if module == "careflow.clock":
        return "time"
    if module == "careflow.keys":
        return "keys"
    if module in ("careflow.limits", "careflow.strictjson", "careflow.strictyaml"):
        return "limits"
    if module.startswith("careflow.mocks.kernel"):
        return "kernel"
    for vendor in VENDOR_PACKAGES:
        if module == vendor or module.startswith(vendor + "."):
            return vendor
    if module == "careflow.mocks":
        return "registry"
    for part in ("contracts", "engine", "scenarios"):
        if module.startswith(f"careflow.{part}"):
            return part
    return "root"


# part → the parts it may import (besides itself); docs/DESIGN.md, "Parts and their imports"
BOTTOM = {"time", "keys", "limits"}  # the small parts under both the fakes and the engine
ALLOWED: dict[str, set[str]] = {
    "time": set(),
    "keys": set(),
    "limits": set(),
    "kernel": BOTTOM,
    "registry": {"kernel"},
    **{vendor: {*BOTTOM, "kernel", "registry"} for vendor in VENDOR_PACKAGES},
    "contracts": {*BOTTOM, "kernel", "registry"},
    "engine": BOTTOM,
    "scenarios": {*BOTTOM, "kernel", "registry", *VENDOR_PACKAGES, "contracts", "engine", "root"},
    "root": {"scenarios"},  # careflow/__init__ and the thin plugin re-export lazily
}


def test_every_part_imports_only_what_the_layout_allows() -> None:
    problems = []
    for module, path in modules().items():
        part = part_of(module)
        for target in sorted(imports_of(module, path)):
            other = part_of(target)
            if other != part and other not in ALLOWED[part]:
                problems.append(f"{module} ({part}) imports {target} ({other})")
    assert not problems, "imports the layout forbids:\n" + "\n".join(problems)


def test_the_layout_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The check above is not vacuous: an engine module importing a fake is caught."""
    path = tmp_path / "bad.py"
    path.write_text("from careflow.mocks.whatconverts import models\nfrom ..clock import x\n")
    found = imports_of("careflow.engine.bad", path)
    assert "careflow.mocks.whatconverts" in found
    assert part_of("careflow.mocks.whatconverts.models") not in ALLOWED["engine"]


def test_nothing_imports_the_composition_root() -> None:
    offenders = [
        f"{module} imports {target}"
        for module, path in modules().items()
        if part_of(module) not in ("scenarios", "root")
        for target in imports_of(module, path)
        if part_of(target) == "scenarios"
    ]
    assert not offenders


def test_pyproject_installs_every_package_folder() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {name: p.name for name, p in FOLDERS.items()}
    folders = {
        name
        for name, path in modules().items()
        if path.name == "__init__.py" and not name.startswith("tests")
    }
    assert set(config["packages"]) == folders


@pytest.mark.parametrize("module", sorted(modules()))
def test_modules_and_classes_are_readable_in_one_sitting(module: str) -> None:
    path = modules()[module]
    text = path.read_text()
    docstring = ast.get_docstring(ast.parse(text)) or ""
    if REASON in docstring:
        return
    lines = text.count("\n")
    assert lines <= MAX_MODULE_LINES, (
        f"{path.relative_to(ROOT)} has {lines} lines: split it along its seams, or say why "
        f"not in its docstring ('{REASON} …')"
    )
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno
            assert size <= MAX_CLASS_LINES, f"{path.relative_to(ROOT)}: class {node.name} {size}"
