#!/usr/bin/env python3
"""The import graph of crates/cluster-core/src: which module uses which, and proof it has no circle.

Every `.rs` file is a module (`mod.rs` is its folder's module). An edge A -> B means A names
something defined in B: through `use crate::...`, `use super::...`, a path written inline
(`crate::node::pool::NodePool`), or a child module of A used by name (`sets::algebra(...)`). A path
is resolved to the longest module prefix it starts with, so `crate::executor::batches::Batch`
is an edge to `executor::batches`, `crate::executor::Executor` one to `executor`. Code under
`#[cfg(test)]` is left out (unit tests may reach anywhere), and so are comments and strings.

Checks, each an error (exit 1) naming the modules involved:
  * a circle between modules (Tarjan's strongly connected components);
  * a circle between layers (a layer is a top-level module: `node`, `executor`, ...);
  * a path through the crate root (`crate::Cluster`): the root only re-exports, code names the
    module that defines a thing.

Usage
  python3 tools/module_graph.py            check; print the layers, lowest first, with imports
  python3 tools/module_graph.py --modules  also every module's own edges
Standard library only.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "crates/cluster-core/src"


def module_of(path):
    """`node/pool.rs` -> `node::pool`, `node/mod.rs` -> `node`, `lib.rs` -> `crate`."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts == ["lib"]:
        return "crate"
    return "::".join(parts)


def strip_tests(text):
    """Removes every `#[cfg(test)]` item (a `mod tests { ... }` block or a single item)."""
    out = []
    i = 0
    marker = re.compile(r"#\[cfg\(test\)\]")
    while True:
        m = marker.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i : m.start()])
        # Skip the item that follows: up to its matching closing brace, or to the `;`.
        j = m.end()
        depth = 0
        while j < len(text):
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        i = j


def strip_comments_and_strings(text):
    """Comments, string and char literals blanked (their text could look like paths)."""
    pattern = re.compile(
        r"//[^\n]*"  # line comments, doc comments included
        r"|/\*.*?\*/"  # block comments
        r'|b?r#*"(?:.|\n)*?"#*'  # raw strings (approximately: enough for this code base)
        r'|b?"(?:\\.|[^"\\])*"'  # strings
        r"|b?'(?:\\.|[^'\\])'",  # chars (lifetimes like 'a are left alone)
        re.S,
    )
    return pattern.sub(" ", text)


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> [`a::b`, `a::c::d`, `a::c::e`]."""
    tree = re.sub(r"\s+", "", tree)
    depth = 0
    for i, c in enumerate(tree):
        if c == "{":
            if depth == 0:
                prefix, inner = tree[:i], tree[i + 1 : tree.rindex("}")]
                parts, level, start = [], 0, 0
                for k, ch in enumerate(inner):
                    if ch == "{":
                        level += 1
                    elif ch == "}":
                        level -= 1
                    elif ch == "," and level == 0:
                        parts.append(inner[start:k])
                        start = k + 1
                parts.append(inner[start:])
                out = []
                for part in parts:
                    if part:
                        out.extend(prefix + p for p in expand_use_tree(part))
                return out
            depth += 1
    return [re.sub(r"\bas\b.*$", "", tree)]


def resolve(path, here, modules, children):
    """The module a `::` path points into, seen from module `here`; None for other crates."""
    segments = [s for s in path.split("::") if s]
    if not segments:
        return None
    parent = here.split("::")[:-1] if here != "crate" else []
    if segments[0] == "crate":
        base, rest = [], segments[1:]
    elif segments[0] == "super":
        base, rest = parent, segments[1:]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif segments[0] == "self":
        base, rest = ([] if here == "crate" else here.split("::")), segments[1:]
    elif segments[0] in children.get(here, ()):
        base, rest = ([] if here == "crate" else here.split("::")), segments
    else:
        return None  # std, redis, another crate, or a local name
    best = "::".join(base) if base else "crate"
    for n in range(1, len(rest) + 1):
        candidate = "::".join(base + rest[:n])
        if candidate in modules:
            best = candidate
    return best


def edges_of(path, modules, children):
    here = module_of(path)
    text = strip_comments_and_strings(strip_tests(path.read_text(encoding="utf-8")))
    targets = set()
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        for item in expand_use_tree(m.group(1)):
            target = resolve(item, here, modules, children)
            if target is not None:
                targets.add(target)
    text_without_uses = re.sub(r"\buse\s+[^;]+;", " ", text)
    path = r"\b((?:crate|super|self|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)"
    for m in re.finditer(path, text_without_uses):
        target = resolve(m.group(1), here, modules, children)
        if target is not None:
            targets.add(target)
    targets.discard(here)
    return here, targets


def strongly_connected(graph):
    """Tarjan's algorithm: the components with more than one module (the circles)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layered_order(graph):
    """Modules lowest first (each after everything it imports); ties by name."""
    order, placed = [], set()
    remaining = set(graph)
    while remaining:
        ready = sorted(v for v in remaining if graph[v] - {v} <= placed)
        if not ready:
            return None
        order.extend(ready)
        placed.update(ready)
        remaining.difference_update(ready)
    return order


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="print every module's edges")
    args = parser.parse_args()

    files = sorted(SRC.rglob("*.rs"))
    modules = {module_of(f) for f in files}
    children = {}
    for f in files:
        here = module_of(f)
        text = strip_comments_and_strings(strip_tests(f.read_text(encoding="utf-8")))
        children[here] = set(re.findall(r"\bmod\s+([a-z_][a-z0-9_]*)\s*;", text))
    graph = {}
    for f in files:
        here, targets = edges_of(f, modules, children)
        graph[here] = targets

    problems = []
    for here, targets in sorted(graph.items()):
        if here != "crate" and "crate" in targets:
            problems.append(f"{here} names something through the crate root: name its module")
    module_graph = {m: {t for t in ts if t != "crate"} for m, ts in graph.items() if m != "crate"}
    for circle in strongly_connected(module_graph):
        problems.append("modules in a circle: " + " <-> ".join(circle))

    def layer(module):
        return module.split("::")[0]

    layers = {}
    for here, targets in module_graph.items():
        layers.setdefault(layer(here), set()).update(
            layer(t) for t in targets if layer(t) != layer(here)
        )
    for circle in strongly_connected(layers):
        problems.append("layers in a circle: " + " <-> ".join(circle))

    order = layered_order(layers)
    print(f"crates/cluster-core/src: {len(modules)} modules in {len(layers)} layers")
    if order:
        print("layers, lowest first (each imports only layers listed above it):")
        for name in order:
            imports = ", ".join(sorted(layers[name])) or "-"
            print(f"  {name:<11} <- {imports}")
    if args.modules:
        print("modules:")
        for here in sorted(module_graph):
            print(f"  {here:<22} -> {', '.join(sorted(module_graph[here])) or '-'}")
    if problems:
        print("\n".join(["", "problems:"] + [f"  {p}" for p in problems]), file=sys.stderr)
        return 1
    print("no circle: every module imports only modules below it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
