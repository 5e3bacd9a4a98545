"""The architecture as tests (docs/architecture.md): the parts of core/ stand in layers and import only
downward; audit/ reads no file and no store; all SQL is in store/; the dashboard reaches core only
through views/ and holds no logic; no import cycle, counting imports inside functions.

Each rule is a function over a source tree, run on this checkout (it must hold) and on a copy with a
planted violation (it must catch it), so no rule here can pass by being unable to fail.
"""
from __future__ import annotations

import ast
import inspect
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top. A module may import its own part and any part of a lower layer, nothing else.
LAYERS = [
    {"schema", "wording", "models", "config", "data.textfiles"},  # the vocabulary every part shares
    {"store", "audit"},  # all SQL; pure functions over DataFrames
    {"judges"},
    {"loop"},  # the six stages
    {"data", "gaming"},  # import/export formats; what runs inside RL to catch length gaming
    {"human_labels"},
    {"runs"},  # a run as a process: pipeline, worker, jobs, status, progress
    {"views"},  # what a page or the report shows
    {"cli"},  # with core/__main__.py
]
SQL = re.compile(r"\b(SELECT\s.+?\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+(TABLE|INDEX)|PRAGMA\s+\w+)\b", re.S)
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "read_csv", "read_json", "read_parquet",
              "load", "save", "savez", "to_csv", "to_json", "to_parquet", "mkdir", "unlink"}


def modules(root: Path, package: str) -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted((root / package).rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (never executed)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            lines |= {n.lineno for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def imports(root: Path, name: str, tree: ast.Module, *, runtime_only: bool = False) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import of ``tree``, at any depth; ``from core.x import y``
    names core.x.y where y is a module of the tree."""
    skip = _type_checking_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                as_module = Path(root, *sub.split(".")).with_suffix(".py").is_file() or (root / Path(*sub.split("."))).is_dir()
                yield (sub if as_module else node.module), node.lineno


def part_of(module: str) -> str | None:
    """The part a core module belongs to ('store', 'data.textfiles', 'cli', ...), None outside core."""
    bits = module.split(".")
    if bits[0] != "core" or len(bits) == 1:
        return None
    if bits[1:3] == ["data", "textfiles"]:
        return "data.textfiles"
    return "cli" if bits[1] == "__main__" else bits[1]


def layer_of(part: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


# -- the rules -------------------------------------------------------------------------------------
def layering_violations(root: Path) -> list[str]:
    out = []
    for name, path, tree in modules(root, "core"):
        mine = part_of(name)
        for target, line in imports(root, name, tree, runtime_only=True):
            theirs = part_of(target)
            if theirs is None or theirs == mine:
                continue
            if layer_of(theirs) > layer_of(mine) or (layer_of(theirs) == layer_of(mine) and layer_of(mine) > 0):
                out.append(f"{path.relative_to(root)}:{line}: {mine} may not import {theirs} ({target})")
    return out


def streamlit_in_core(root: Path) -> list[str]:
    return [f"{path.relative_to(root)}:{line}: imports {target}"
            for name, path, tree in modules(root, "core") for target, line in imports(root, name, tree)
            if target.split(".")[0] == "streamlit" or target.split(".")[0] == "dashboard"]


def sql_outside_store(root: Path) -> list[str]:
    out = []
    for package in ("core", "dashboard"):
        for name, path, tree in modules(root, package):
            if name.startswith("core.store"):
                continue
            out += [f"{path.relative_to(root)}:{line}: imports sqlite3" for target, line in imports(root, name, tree)
                    if target == "sqlite3"]
            out += [f"{path.relative_to(root)}:{node.lineno}: SQL {node.value[:40]!r}" for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)]
    return out


def audit_reads_outside(root: Path) -> list[str]:
    """audit/ imports only audit/ and schema (type-only imports aside) and calls nothing that reads
    or writes a file."""
    out = []
    for name, path, tree in modules(root, "core/audit"):
        for target, line in imports(root, name, tree, runtime_only=True):
            if target.startswith("core.") and not target.startswith(("core.audit", "core.schema")):
                out.append(f"{path.relative_to(root)}:{line}: audit imports {target}")
            if target.split(".")[0] in ("sqlite3", "pathlib", "io", "gzip", "shutil", "os"):
                out.append(f"{path.relative_to(root)}:{line}: audit imports {target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if called in FILE_CALLS:
                    out.append(f"{path.relative_to(root)}:{node.lineno}: audit calls {called}()")
    return out


def dashboard_reaches_past_views(root: Path) -> list[str]:
    return [f"{path.relative_to(root)}:{line}: imports {target}"
            for name, path, tree in modules(root, "dashboard") for target, line in imports(root, name, tree)
            if target.startswith("core") and not target.startswith("core.views")]


def store_writes(root: Path) -> set[str]:
    """The Store's methods that open a write transaction (reads that keep a cache aside)."""
    import core.store

    return {name for name, method in inspect.getmembers(core.store.Store, inspect.isfunction)
            if "self.transaction()" in inspect.getsource(method) and name != "audit_snapshot"}


def logic_on_pages(root: Path, writes: set[str]) -> list[str]:
    """Store writes, sentence matching and groupbys in the dashboard."""
    out = []
    for name, path, tree in modules(root, "dashboard"):
        where = path.relative_to(root)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in writes:
                    out.append(f"{where}:{node.lineno}: writes to the store ({node.func.attr})")
                if node.func.attr == "groupby":
                    out.append(f"{where}:{node.lineno}: computes on a page (groupby)")
                if node.func.attr in ("startswith", "endswith") and any(
                        isinstance(a, ast.Constant) and isinstance(a.value, str) and " " in a.value for a in node.args):
                    out.append(f"{where}:{node.lineno}: matches sentence text")
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) \
                    and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str) and " " in node.left.value:
                out.append(f"{where}:{node.lineno}: matches sentence text ({node.left.value!r} in ...)")
    return out


def import_cycles(root: Path) -> list[str]:
    graph: dict[str, set[str]] = {}
    for package in ("core", "dashboard"):
        for name, _, tree in modules(root, package):
            graph[name] = {t for t, _ in imports(root, name, tree)}
    for name in graph:
        graph[name] = {t if t in graph else next((m for m in graph if t.startswith(m + ".")), t)
                       for t in graph[name]} & set(graph)
        graph[name].discard(name)
    return [" -> ".join(c) for c in _cycles(graph)]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


RULES = {
    "layers": layering_violations,
    "streamlit": streamlit_in_core,
    "sql": sql_outside_store,
    "audit": audit_reads_outside,
    "views only": dashboard_reaches_past_views,
    "pages": lambda root: logic_on_pages(root, store_writes(root)),
    "cycles": import_cycles,
}


@pytest.mark.parametrize("rule", list(RULES))
def test_this_checkout_keeps_the_rule(rule):
    assert RULES[rule](ROOT) == []


PLANTED = [  # (rule, file, lines appended, what the report must name)
    ("layers", "core/loop/judging.py", "\n\ndef _f():\n    from core.runs import pipeline\n", "core/loop/judging.py"),
    ("layers", "core/store/labels.py", "\nfrom core.audit import consensus\n", "store may not import audit"),
    ("streamlit", "core/audit/agreement.py", "\nimport streamlit\n", "core/audit/agreement.py"),
    ("streamlit", "core/views/findings.py", "\n\ndef _f():\n    from dashboard import state\n", "dashboard"),
    ("sql", "core/human_labels/team.py", "\n\ndef _f(store):\n    return store._frame('SELECT * FROM runs')\n",
     "core/human_labels/team.py"),
    ("sql", "dashboard/pages/runs.py", "\nimport sqlite3\n", "sqlite3"),
    ("audit", "core/audit/verbosity.py", "\nfrom core.store import Store\n", "core.store"),
    ("audit", "core/audit/human.py", "\n\ndef _f(p):\n    return open(p).read()\n", "open()"),
    ("views only", "dashboard/pages/audit.py", "\nfrom core.human_labels import team\n", "core.human_labels"),
    ("pages", "dashboard/pages/runs.py", "\nstore.request_cancel('x')\n", "request_cancel"),
    ("pages", "dashboard/pages/monitor.py", "\nif 'getting longer' in reading:\n    pass\n", "sentence"),
    ("pages", "dashboard/pages/audit.py", "\ntable = table.groupby('judge').mean()\n", "groupby"),
    ("cycles", "core/schema.py", "\n\ndef _f():\n    from core.store import Store\n", "core.schema"),
]


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp("tree")
    for package in ("core", "dashboard"):
        for path in (ROOT / package).rglob("*.py"):
            target = copy / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return copy


@pytest.mark.parametrize("rule, file, planted, named", PLANTED, ids=[f"{r}:{f}" for r, f, _, _ in PLANTED])
def test_a_planted_violation_is_caught(tree_copy, rule, file, planted, named):
    path = tree_copy / file
    before = path.read_text(encoding="utf-8")
    assert RULES[rule](tree_copy) == []
    path.write_text(before + planted, encoding="utf-8")
    try:
        found = RULES[rule](tree_copy)
    finally:
        path.write_text(before, encoding="utf-8")
    assert found and any(named in line for line in found), found
