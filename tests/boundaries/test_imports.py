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
            # `from package import module` imports package.module.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
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


def package_of(module: str) -> str:
    """The package a module belongs to: the app's root, or a subpackage."""
    parts = module.split(".")
    if len(parts) > 2 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "(root)"


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in modules():
        dotted = ".".join(("filemaker_migration", *path.relative_to(PACKAGE).parts))
        source = package_of(dotted.removesuffix(".py"))
        for name in imported_names(path):
            if name.startswith("filemaker_migration."):
                target = package_of(name if name.count(".") > 1 else name + ".x")
                if target != source:
                    graph.setdefault(source, set()).add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    def visit(node: str, path: list[str]) -> list[str]:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                return [*path[path.index(nxt) :], nxt]
            found = visit(nxt, [*path, nxt])
            if found:
                return found
        return []

    for start in sorted(graph):
        cycle = visit(start, [start])
        if cycle:
            return cycle
    return []


def test_packages_import_each_other_in_one_direction_only():
    graph = package_graph()
    assert {"(root)", "dataapi"} <= graph["pipeline"]
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = package_graph()
    graph.setdefault("dataapi", set()).add("pipeline")
    assert find_cycle(graph)


def imported_modules(path: Path) -> set[str]:
    """The modules named by import statements (not the names taken from them:
    `from package import discover` may name a function, not a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_packages_are_entered_through_their_public_surface():
    """Code outside a subpackage imports what its __init__ exports (__all__),
    never a module inside it."""
    reaching_in = []
    for path in modules():
        dotted = ".".join(("filemaker_migration", *path.relative_to(PACKAGE).parts))
        own = package_of(dotted.removesuffix(".py"))
        for name in imported_modules(path):
            parts = name.split(".")
            if (
                len(parts) > 2
                and parts[0] == "filemaker_migration"
                and (PACKAGE / parts[1]).is_dir()
                and parts[1] != own
                and (PACKAGE / parts[1] / f"{parts[2]}.py").exists()
            ):
                reaching_in.append(f"{path.relative_to(PACKAGE)} -> {name}")
    assert sorted(set(reaching_in)) == []
