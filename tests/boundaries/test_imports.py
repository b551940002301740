"""The migration app reaches the clinic's models only through its target.

Read from the source (no imports run): a module of `filemaker_migration` that
imported the reference clinic, or named a model of it, would make the app
unusable in any other clinic's project.
"""

from __future__ import annotations

import ast
from pathlib import Path

import filemaker_migration

PACKAGE = Path(filemaker_migration.__file__).parent
CLINIC_PACKAGES = ("clinic", "config", "tests")


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_package_has_modules_to_check():
    assert len(modules()) > 50


def test_no_module_of_the_migration_imports_the_reference_clinic():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name
            for name in imported_names(path)
            if name.split(".")[0] in CLINIC_PACKAGES
        )
        for path in modules()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_configurable_target_looks_models_up_by_label():
    users = [
        str(path.relative_to(PACKAGE))
        for path in modules()
        if "get_model(" in path.read_text()
    ]
    assert users == ["targets/configurable.py"]


def test_the_migrations_depend_on_no_clinic_app():
    for path in sorted((PACKAGE / "migrations").glob("0*.py")):
        text = path.read_text()
        for app in ("patients", "images"):
            assert f"('{app}'," not in text, path.name
            assert f"'{app}." not in text, path.name
