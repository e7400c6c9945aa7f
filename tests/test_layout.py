"""The floors of the package layout: core imports nothing of the project, prep only core."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted({p.parent.name for p in ROOT.glob("*/*.py")} - {"tests"})
ALLOWED = {"core": {"core"}, "prep": {"core", "prep"}}


def project_imports(path: Path) -> set[str]:
    """Top-level project packages a module imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_nothing_above_its_floor(package):
    assert package in PACKAGES
    above = {str(path.relative_to(ROOT)): sorted(project_imports(path) - ALLOWED[package])
             for path in (ROOT / package).rglob("*.py")}
    assert {module: names for module, names in above.items() if names} == {}


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from eval.score import main\n    import prep.build\n", encoding="utf-8")
    assert project_imports(module) == {"eval", "prep"}
