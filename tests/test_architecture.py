"""The house rules, checked on the source: data flows one way between rooms, and no module-level import cycle.

Rooms, upstream first: the base modules (config, paths, errors, io) -> data -> models -> analysis and training ->
method -> evaluation -> experiments -> report -> cli (the `inheritune` command: it may reach every room, none
imports it). A module may import from its own room and from rooms upstream of it, never from one downstream;
`report` reads CSVs and imports only the base modules (the paper's facts in `paper.py` and the registry of tables
and figures in `registry.py` among them).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "inheritune_core"
BASE = {"config", "paths", "errors", "io", "paper", "registry"}
ALLOWED: dict[str, set[str]] = {
    "base": {"base"},
    "data": {"base", "data"},
    "models": {"base", "data", "models"},
    "analysis": {"base", "data", "models", "analysis"},
    "training": {"base", "data", "models", "training"},
    "method": {"base", "data", "models", "analysis", "training", "method"},
    "evaluation": {"base", "data", "models", "analysis", "training", "method", "evaluation"},
    "experiments": {"base", "data", "models", "analysis", "training", "method", "evaluation", "experiments"},
    "report": {"base", "report"},
}
ALLOWED["cli"] = {*ALLOWED, "cli"}
REPORT_MAY_ALSO_IMPORT: set[str] = set()  # none: the paper's facts moved to the base room (paper.py)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def _room(module: str) -> str | None:
    head = module.split(".")[0]
    if head in BASE:
        return "base"
    return head if head in ALLOWED else None


def _imports(path: Path, *, top_level_only: bool, module: str | None = None) -> list[tuple[str, int]]:
    """(imported inheritune_core module, line) for every intra-package import in the file (`module`: its
    dotted name inside the package, by default derived from its path)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = (module or _module_name(path)).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.startswith("inheritune_core"):
                target = node.module.split(".")[1:]
            else:
                continue
            if not target:  # `from .. import x`: x is a module of the package root
                found += [(a.name, node.lineno) for a in node.names]
                continue
            joined = ".".join(target)
            submodules = [
                f"{joined}.{a.name}" for a in node.names if (PACKAGE / joined / f"{a.name}.py").is_file()
            ]
            found += [(m, node.lineno) for m in submodules] or [(joined, node.lineno)]
        elif isinstance(node, ast.Import):
            found += [
                (a.name.split(".", 1)[1], node.lineno)
                for a in node.names
                if a.name.startswith("inheritune_core.")
            ]
    return found


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_lives_in_a_room():
    loose = [_module_name(p) for p in _sources() if _room(_module_name(p)) is None]
    assert not loose, f"modules outside the rooms {sorted(ALLOWED)}: {loose}"


def _violations(module: str, imports: list[tuple[str, int]]) -> list[str]:
    room = _room(module)
    bad = []
    for target, line in imports:
        target_room = _room(target)
        if target_room is None or target_room in ALLOWED[room]:
            continue
        if room == "report" and target in REPORT_MAY_ALSO_IMPORT:
            continue
        bad.append(f"{module}:{line} ({room}) imports {target} ({target_room})")
    return bad


def test_data_flows_downstream_only():
    bad = []
    for path in _sources():
        bad += _violations(_module_name(path), _imports(path, top_level_only=False))
    assert not bad, "imports against the flow:\n" + "\n".join(bad)


def test_no_module_level_import_cycle():
    graph: dict[str, set[str]] = {}
    for path in _sources():
        graph[_module_name(path)] = {t for t, _ in _imports(path, top_level_only=True)}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))


def test_the_checker_sees_a_violation(tmp_path):
    # The rules must be able to fail: upstream rooms importing downstream ones are caught, relative imports
    # are resolved, and the report's one exception is the task registry.
    fake = tmp_path / "probe.py"
    fake.write_text("from ..experiments.runs import RunSpec\nfrom ..evaluation import tasks\n")
    imports = _imports(fake, top_level_only=False, module="models._probe_for_test")
    assert [t for t, _ in imports] == ["experiments.runs", "evaluation.tasks"]
    assert len(_violations("models._probe_for_test", imports)) == 2
    assert _violations("report.x", [("evaluation.tasks", 1)]) != []  # the facts are paper.py's
    assert _violations("report.x", [("paper", 1), ("registry", 2)]) == []
    assert _violations("report.x", [("training.trainer", 1)]) != []
    assert _violations("training.x", [("models.gpt", 1), ("errors", 2)]) == []
