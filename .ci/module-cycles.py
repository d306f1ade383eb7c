#!/usr/bin/env python3
"""Fails when the engine's modules import each other in a circle.

Every `crate::a::b::...` path in a source file (in `use` lines and inline) is an edge from that
file's module to the longest prefix that is a module of the crate. Two levels are checked:
- areas (the top-level modules: `tables`, `snapshots`, ...): no cycle at all;
- files: no cycle, except a parent and its own children (a `mod.rs` re-exporting what its
  children define while they use its shared types is one area's inside, not layering).
Test modules are skipped: a test may reach anywhere. Prints the module count and every cycle.
"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "src-tauri/engine/src")


def module_of(path: Path) -> tuple:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


files = {module_of(p): p for p in root.rglob("*.rs")}

# Modules declared under `#[cfg(test)]` (`tests.rs`, `test_support.rs`, models): a test may
# reach anywhere, so their imports are not layering.
test_modules = set()
for mod, path in files.items():
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+(\w+)\s*;", path.read_text()):
        test_modules.add(mod + (m.group(1),))


def is_test(mod) -> bool:
    return any(mod[: len(t)] == t for t in test_modules)
modules = {m for m in files if not is_test(m)}
edges = {m: set() for m in modules}
path_re = re.compile(r"crate::((?:[a-z_][a-z0-9_]*::)*[a-zA-Z_][a-zA-Z0-9_]*)")
group_re = re.compile(r"use crate::(?:([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)::)?\{([^;]*)\};", re.S)
super_re = re.compile(r"\b(super(?:::super)*)::((?:[a-z_][a-z0-9_]*::)*[a-zA-Z_][a-zA-Z0-9_]*)")


def resolve(segments):
    for n in range(len(segments), 0, -1):
        if tuple(segments[:n]) in modules:
            return tuple(segments[:n])
    return None


def strip_tests(text):
    # Drop `#[cfg(test)] mod x { ... }` blocks: tests may import anything.
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


for mod, path in files.items():
    if is_test(mod):
        continue
    text = path.read_text()
    text = strip_tests(re.sub(r"//[^\n]*", "", text))
    targets = []
    for m in path_re.finditer(text):
        targets.append(m.group(1).split("::"))
    for m in group_re.finditer(text):
        base = m.group(1).split("::") if m.group(1) else []
        for item in re.split(r",\s*", m.group(2)):
            item = item.strip().split(" as ")[0].strip()
            if not item or item == "self":
                targets.append(base)
            else:
                targets.append(base + re.split(r"::", item.replace("{", "").replace("}", "")))
    here = list(mod) if path.name in ("mod.rs", "lib.rs") else list(mod[:-1])
    for m in super_re.finditer(text):
        ups = m.group(1).count("super")
        base = here[: max(0, len(here) - (ups - 1))] if path.name not in ("mod.rs", "lib.rs") else here[: max(0, len(here) - ups)]
        targets.append(base + m.group(2).split("::"))
    for t in targets:
        target = resolve([s for s in t if s])
        if target and target != mod:
            edges[mod].add(target)


def sccs(nodes, graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def name(m):
    return "::".join(m) or "crate"


# Areas: the first segment.
areas = {m[:1] for m in modules if m}
area_edges = {a: set() for a in areas}
for m, ts in edges.items():
    for t in ts:
        if m[:1] and t[:1] and m[:1] != t[:1]:
            area_edges[m[:1]].add(t[:1])
area_cycles = sccs(areas, area_edges)
if "--edges" in sys.argv:
    for m, ts in sorted(edges.items()):
        for t in sorted(ts):
            if m[:1] != t[:1]:
                print(f"edge {name(m)} -> {name(t)}")

# Files: edges between a module and its own ancestor are an area's inside.
file_edges = {
    m: {t for t in ts if not (t == m[: len(t)] or m == t[: len(m)])} for m, ts in edges.items()
}
file_cycles = sccs(modules, file_edges)

print(f"engine modules: {len(modules)} files in {len(areas)} areas")
print(f"area cycles: {len(area_cycles)}")
for c in area_cycles:
    print("  " + " <-> ".join(name(m) for m in c))
print(f"file cycles: {len(file_cycles)}")
for c in file_cycles:
    print(f"  {len(c)} files: " + ", ".join(name(m) for m in c))
sys.exit(1 if area_cycles or file_cycles else 0)
