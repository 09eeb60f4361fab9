"""Imports go one way: no cycle through the models, decoding, losses or metrics.

The graph is read statically from the source (every ``import`` statement,
including the ones inside functions, since a lazy import that closes a cycle
is still a cycle), so the test needs no backend and sees every route.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2] / "zoo"
OWNED = ("zoo.models", "zoo.decoding", "zoo.losses", "zoo.metrics")


def _module_name(path):
    parts = ["zoo", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(name, path, known):
    """The zoo modules that `name` (at `path`) imports, anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {m for m in found if m in known and m != name}


def import_graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _owned(name):
    return any(name == o or name.startswith(o + ".") for o in OWNED)


def test_the_reader_sees_a_cycle():
    graph = {"zoo.a": {"zoo.b"}, "zoo.b": {"zoo.c"}, "zoo.c": {"zoo.a"}, "zoo.d": {"zoo.a"}}
    assert _cycles(graph) == [["zoo.a", "zoo.b", "zoo.c"]]


def test_lazy_imports_count():
    graph = import_graph()
    # `find_decoder` used to be imported inside `decoding.generate`: the reader
    # must see imports inside functions, or the old cycle would go unnoticed.
    assert "zoo.models.decoder" in graph and "zoo.decoding" in graph["zoo.models.decoder"]
    assert "zoo.models.transition" in graph["zoo.models.blocks"]


def test_no_import_cycle_through_the_models_decoding_losses_or_metrics():
    cycles = [c for c in _cycles(import_graph()) if any(_owned(m) for m in c)]
    assert not cycles, f"Import cycles: {cycles}"


@pytest.mark.parametrize("name", ["zoo.decoding", "zoo.losses", "zoo.metrics"])
def test_decoding_losses_and_metrics_import_no_model_code(name):
    reachable, todo, graph = set(), [name], import_graph()
    while todo:
        for dep in graph[todo.pop()] - reachable:
            reachable.add(dep)
            todo.append(dep)
    assert not [m for m in reachable if m.startswith("zoo.models")], sorted(reachable)
