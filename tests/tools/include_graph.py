#!/usr/bin/env python3
"""The module include graph of src/ and its rules (README, "Architecture").

A module is a folder of src/. An edge A -> B means a file of A includes "B/...". Rules:
  1. every edge is allowed by MAY_USE below (the module map README shows);
  2. the graph has no cycle;
  3. a header named *_internal.h is included only from its own module.
Prints the graph; exits 1 with one line per broken rule. Run from the repo root
(include_graph.py [SRC_DIR], default src).
"""
import os
import re
import sys

# What each module may include besides itself. Lower layers first; src/main.c, tools/ and
# tests/ may use everything. cli (the commands, training and evaluation) is the outermost
# layer: it may use every module and no module may use it (it is not in any set below), so
# the server library (build/libsemrouter.a, every module but cli) never needs it.
MAY_USE = {
    "core": set(),
    "config": {"core"},
    "metrics": {"core"},
    "index": {"core"},
    "embed": {"core"},
    "http": {"core"},
    "guard": {"core", "embed"},
    "route": {"core", "config", "embed"},
    "cache": {"core", "config", "index", "http", "metrics", "embed"},
    "api": {"core", "config", "metrics", "index", "embed", "http", "guard", "route", "cache"},
    "pipeline": {"core", "config", "metrics", "index", "embed", "http", "guard", "route", "cache",
                 "api"},
    "cli": {"core", "config", "metrics", "index", "embed", "http", "guard", "route", "cache",
            "pipeline", "api"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_0-9]+)/([^"]+)"', re.M)


def graph(src="src"):
    edges, problems = {}, []
    for mod in sorted(os.listdir(src)):
        d = os.path.join(src, mod)
        if not os.path.isdir(d) or mod == "gen":
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(d, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for target, header in INCLUDE.findall(text):
                if target == mod:
                    continue
                edges.setdefault(mod, {}).setdefault(target, []).append("%s: %s/%s" % (path, target, header))
                if header.endswith("_internal.h"):
                    problems.append("%s includes %s/%s: internals of another module" % (path, target, header))
    return edges, problems


def find_cycle(edges):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, {})):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if not state.get(n):
            c = visit(n)
            if c:
                return c
    return None


def main():
    edges, problems = graph(sys.argv[1] if len(sys.argv) > 1 else "src")
    for mod in sorted(edges):
        print("%-9s -> %s" % (mod, ", ".join(sorted(edges[mod]))))
        allowed = MAY_USE.get(mod)
        if allowed is None:
            problems.append("module %s is not in the module map (tests/tools/include_graph.py MAY_USE)" % mod)
            continue
        for target, where in sorted(edges[mod].items()):
            if target not in allowed:
                problems.append("%s may not include %s (%s)" % (mod, target, where[0]))
    cycle = find_cycle(edges)
    if cycle:
        problems.append("include cycle: " + " -> ".join(cycle))
    for p in problems:
        print("PROBLEM " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
