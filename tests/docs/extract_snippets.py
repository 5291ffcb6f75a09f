#!/usr/bin/env python3
"""Extracts every ```cpp block of README.md and docs/*.md into a compilable .cpp file, so
the test suite compiles the documentation's code and the docs cannot rot.

A block that defines main() is compiled as it stands. Any other block is a fragment: it
is put inside a function body (statements) unless it starts with a declaration that only
namespace scope allows (#include, struct/class/template/namespace definitions), in which
case it stays at namespace scope. Every file gets the same prelude: <braid/braid.hpp>,
the standard headers the guides use, `using namespace std::chrono_literals`, and the two
namespace aliases the guides announce at their top and use throughout:
`namespace mp = braid::process;` (guide-processes.md) and `namespace sp =
braid::subprocess;` (guide-subprocess.md). Anything else a block uses, it declares.

A block can be excluded with the info string `cpp nocompile` (for deliberately wrong
code, e.g. "this does not compile because ..."); nothing else is skipped.

Usage: extract_snippets.py OUT_DIR FILE.md...   (prints the generated file names)
"""
import os
import re
import sys

PRELUDE = """// Generated from {src} (block {n}, line {line}) by tests/docs/extract_snippets.py.
#include <braid/braid.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <tuple>
#include <vector>
using namespace std::chrono_literals;
namespace mp = braid::process;
namespace sp = braid::subprocess;
"""

NAMESPACE_SCOPE = re.compile(r"^\s*(#include|struct\s|class\s|template\s*<|namespace\s|"
                             r"static\s|inline\s|int\s+\w+\s*\(|void\s+\w+\s*\(|"
                             r"\w[\w:<>, ]*\s+\w+\s*\([^;]*\)\s*(const)?\s*\{)")


def blocks(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(.*)$", lines[i])
        if m and m.group(2).strip().startswith("cpp"):
            info = m.group(2).strip()
            indent = len(m.group(1))
            start = i + 1
            body = []
            i += 1
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
                i += 1
            yield start, info, "\n".join(body)
        i += 1


def render(src, n, line, code):
    head = PRELUDE.format(src=src, n=n, line=line)
    if re.search(r"\bint\s+main\s*\(", code):
        return head + code + "\n"
    first = next((l for l in code.split("\n") if l.strip() and not l.strip().startswith("//")), "")
    if NAMESPACE_SCOPE.match(first):
        return head + code + "\n"
    return head + f"[[maybe_unused]] static void doc_snippet_{n}() {{\n{code}\n}}\n"


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for path in sys.argv[2:]:
        base = os.path.splitext(os.path.basename(path))[0].replace("-", "_")
        for n, (line, info, code) in enumerate(blocks(path), 1):
            if "nocompile" in info.split():
                continue
            name = os.path.join(out_dir, f"{base}_{n}.cpp")
            text = render(os.path.relpath(path), n, line, code)
            old = open(name).read() if os.path.exists(name) else None
            if old != text:
                with open(name, "w") as f:
                    f.write(text)
            print(name)


if __name__ == "__main__":
    main()
