#!/usr/bin/env python3
"""Writes braid's API reference, docs/api/<module>.md and docs/api/index.md, from the
public headers: every public class, struct, enum, alias, function and variable with its
declaration (bodies stripped) and its `///` doc comment. Run it after changing a public
header; the test docs.api_reference_current fails while docs/api is stale.

Reads <module>/include/**/*.hpp|h for the modules in MODULES that exist, skipping every
`detail/` folder, `detail` and anonymous namespaces, private and protected members,
friend declarations, forward declarations and out-of-class definitions. Headers come in
the order the module's umbrella header (braid/<module>.hpp) includes them, then the rest
sorted; entries in the order the header declares them. Output is deterministic.

Doc comments: `///` lines right above a declaration (a blank line in between detaches
them), `///<` or `//` after a member on its own line. @throws, @param, @returns and
@note become list items, @par a bold title, @code..@endcode a ```c++ block. Those
examples are fragments, so they use the `c++` fence that tests/docs/extract_snippets.py
does not compile (it only takes ```cpp, and only from docs/*.md anyway).

Limits (a heuristic C++ reader, not a parser): macros are not expanded and both branches
of #if are read; a declaration is told from a definition by its first top-level
parenthesis, so `Foo x(1);` reads as a function and `requires (expr)` before the name
confuses it; `<`/`>` in template arguments are balanced only well enough to find that
parenthesis; a doc comment separated from its declaration by a plain `//` comment line
still attaches.

Usage: gen_api_reference.py [--out DIR]   write the pages (default: docs/api)
       gen_api_reference.py --check       exit 1 when docs/api differs from a fresh run
"""
import argparse
import filecmp
import os
import re
import sys
import tempfile

from check_doc_links import github_slug

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MODULES = ["runtime", "coro", "process", "net", "hooks"]
# The shared "what every parking call throws" block of errors.hpp, as headers cite it.
PARKING_ERRORS = ("the parking-call errors (errors.hpp)",
                  "[the parking-call errors](runtime.md#braidruntimeerrorshpp)")


class Entry:
    """One public declaration. Types carry their public members."""

    def __init__(self, kind, name, decl, doc):
        self.kind, self.name, self.decls, self.doc = kind, name, [decl], doc
        self.namespace = ""  # relative to braid: "net::" for braid::net
        self.members = []  # Entry, for classes
        self.synopsis = []  # (decl, doc lines) of every public member, for classes


# --- reading headers ------------------------------------------------------------------


class Reader:
    """Walks one header's text statement by statement, scope by scope."""

    def __init__(self, text):
        self.s, self.i = text, 0

    def skip_string(self):
        s, q = self.s, self.s[self.i]
        raw = re.match(r'R"([^(\s]*)\(', s[self.i - 1 : self.i + 20]) if q == '"' and s[self.i - 1 : self.i] == "R" else None
        if raw:
            end = s.find(")" + raw.group(1) + '"', self.i)
            self.i = end + len(raw.group(1)) + 2
            return
        self.i += 1
        while self.i < len(s) and s[self.i] != q:
            self.i += 2 if s[self.i] == "\\" else 1
        self.i += 1

    def skip_comment(self):
        """Skips a comment at i; returns its text when it is a line comment."""
        s = self.s
        if s.startswith("/*", self.i):
            self.i = s.find("*/", self.i) + 2
            return None
        end = s.find("\n", self.i)
        end = len(s) if end < 0 else end
        text, self.i = s[self.i : end], end
        return text

    def balanced(self):
        """Skips from the `{` at i to past its `}`; returns the text in between."""
        start, depth = self.i + 1, 0
        while self.i < len(self.s):
            c = self.s[self.i]
            if self.s.startswith("//", self.i) or self.s.startswith("/*", self.i):
                self.skip_comment()
                continue
            if c in "\"'" and not (c == "'" and self.s[self.i - 1].isalnum()):
                self.skip_string()
                continue
            depth += c == "{"
            depth -= c == "}"
            self.i += 1
            if depth == 0:
                return self.s[start : self.i - 1]
        return self.s[start:]

    def line(self, pos):
        return self.s.count("\n", 0, pos)

    def scope(self, kind, access, hidden, namespace=""):
        """Reads declarations until the closing `}` (or the end); returns Entries.
        `namespace` is the enclosing one, as "braid::net::"."""
        s, entries = self.s, []
        head, head_start, doc, depth = "", 0, [], 0
        last, last_line = None, -1  # the previous entry (or field), for trailing comments
        while self.i < len(s):
            c = s[self.i]
            if s.startswith("//", self.i):
                at = self.line(self.i)
                text = self.skip_comment()
                tool = re.match(r"//\s*(NOLINT|clang-format|IWYU)", text)  # for tools, not readers
                trailing = text.startswith("///<") or (not text.startswith("///") and at == last_line and not tool)
                if trailing and not head.strip() and last is not None and at == last_line:
                    last[1].append(re.sub(r"^///?<?\s?", "", text))
                elif text.startswith("///") and not text.startswith("////"):
                    doc.append(text[4:] if text.startswith("/// ") else text[3:])
                continue
            if s.startswith("/*", self.i):
                self.skip_comment()
                continue
            if c in "\"'" and not (c == "'" and s[self.i - 1].isalnum()):
                start = self.i
                self.skip_string()
                head += s[start : self.i]
                continue
            if c == "#" and not head.strip():
                while self.i < len(s) and (s[self.i] != "\n" or s[self.i - 1] == "\\"):
                    self.i += 1
                continue
            if c == "\n" and not head.strip() and s[s.rfind("\n", 0, self.i) + 1 : self.i].strip() == "":
                doc = []  # a blank line detaches a doc comment from what follows
            if not head.strip():
                head, head_start = "", self.i
            self.i += 1
            if depth > 0 or c in "([":
                depth += (c in "([{") - (c in ")]}")
                head += c
                continue
            if c == "}":
                return entries
            if c == ":" and head.strip() in ("public", "private", "protected") and s[self.i] != ":":
                access, head, doc = head.strip(), "", []
                continue
            if c not in ";{":
                head += c
                continue
            text = clean(head, s, head_start)
            if c == "{":
                if text.startswith("namespace") or text.startswith('extern "C"'):
                    names = text.split()[1:] if text.startswith("namespace") else [""]
                    secret = hidden or not names or "detail" in names[0].split("::")
                    inner = namespace + names[0] + "::" if names and names[0] else namespace
                    entries += self.scope("namespace", "public", secret, inner)
                    head, doc = "", []
                    continue
                self.i -= 1
                opened = self.opening(text)
                if opened == "initializer":
                    head += "{" + self.balanced() + "}"
                    continue
                entry = self.block(opened, text, doc)  # read even when hidden, to skip it
                if opened in ("class", "enum"):
                    self.skip_to_semicolon()
            else:
                entry = declaration(text, doc, kind)
            if hidden or access != "public":
                entry = None
            if entry is not None:
                entry.namespace = re.sub(r"^braid::", "", namespace)
                if entry.kind == "using":
                    entry.kind = "field"
                previous = entries[-1] if entries else None
                overload = entry.kind == "function" and not entry.decls[0].endswith("= delete;")
                if previous and previous.name == entry.name and not entry.doc and overload:
                    previous.decls.append(entry.decls[0])
                    entry = previous
                else:
                    entries.append(entry)
                last, last_line = (entry.decls[-1], entry.doc), self.line(self.i - 1)
            else:
                last = None
            head, doc = "", []
        return entries

    def opening(self, text):
        """What a `{` after `text` opens: class, enum, function or initializer."""
        bare = strip_template(text)
        if re.match(r"(class|struct|union)\b", bare) and "(" not in bare.split(":")[0]:
            return "class"
        if re.match(r"enum\b", bare):
            return "enum"
        paren = param_paren(bare)
        if paren is None or assigns(bare[:paren]):
            return "initializer"
        # A member initializer list (`) : a_{x}`) opens braces before the body does.
        close = matching_paren(bare, paren)
        after = top_level(bare[close:])
        if re.search(r"(?<!:):(?!:)", after) and re.search(r"[\w>]\s*$", bare):
            return "initializer"
        return "function"

    def block(self, opened, text, doc):
        if opened == "function":
            self.balanced()
            if "friend" not in text.split() and is_qualified(text):
                return None  # out-of-class definition of something declared above
            return declaration(without_initializers(re.sub(r"^friend\s+", "", text)), doc, "namespace")
        if opened == "enum":
            body = self.balanced()
            return Entry("enum", type_name(text), f"{text} {{{dedent_block(body)}}};", doc)
        # A class: the head names it and the body holds its members.
        self.i += 1
        entry = Entry("class", type_name(text), text, doc)
        members = self.scope("class", "private" if re.match(r"class\b", strip_template(text)) else "public", False)
        for m in members:  # undocumented constructors, destructor and assignments: synopsis only
            special = m.name in (entry.name, "~" + entry.name, "operator=")
            if not m.doc and m.kind == "function" and (special or m.decls[0].endswith("= delete;")):
                m.kind = "field"
        entry.synopsis = [([m.decls[0] + ";"] if m.kind == "class" else m.decls, m.doc if m.kind == "field" else [])
                          for m in members]
        entry.members = [m for m in members if m.kind != "field"]
        return entry

    def skip_to_semicolon(self):
        while self.i < len(self.s) and self.s[self.i] != ";":
            self.i += 1
        self.i += 1


def clean(head, source, start):
    """The declaration text: surrounding space trimmed, continuation lines dedented by the
    column the declaration started at."""
    column = start - (source.rfind("\n", 0, start) + 1)
    text = head.strip()
    lines = text.split("\n")
    rest = [l[min(column, len(l) - len(l.lstrip())) :] for l in lines[1:]]
    return "\n".join([lines[0].rstrip()] + [l.rstrip() for l in rest])


def without_initializers(text):
    """A constructor definition's head without its member initializer list."""
    bare = strip_template(text)
    paren = param_paren(bare)
    if paren is None:
        return text
    close = text.index(bare) + matching_paren(bare, paren)
    rest = text[close:]
    depth = 0
    for i, c in enumerate(rest):
        depth += (c in "([{<") - (c in ")]}>")
        if c == ":" and depth == 0 and rest[i - 1 : i] != ":" and rest[i + 1 : i + 2] != ":":
            return (text[:close] + rest[:i]).rstrip()
    return text


def dedent_block(body):
    lines = [l.rstrip() for l in body.strip("\n").split("\n")]
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return "\n" + "\n".join("  " + l[indent:] if l else "" for l in lines) + "\n"


def top_level(text):
    """`text` with everything inside (), [], {} and <> removed."""
    out, depth = [], 0
    for i, c in enumerate(text):
        opening = c in "([{" or (c == "<" and not text.endswith("operator", 0, i))
        closing = c in ")]}" or (c == ">" and text[i - 1 : i] != "-" and depth > 0)
        if opening:
            depth += 1
        elif closing:
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out)


def assigns(text):
    """True when `text` (what precedes a parenthesis) has an `=` of an initializer, not
    of an operator name: `auto x = f(` is a variable, `bool operator==(` a function."""
    return "=" in re.sub(r"\boperator\s*[^\s(]+", "", top_level(text))


def strip_template(text):
    """The declaration after its `template <...>` prefixes, requires-clauses and [[attributes]]."""
    while True:
        m = re.match(r"\s*(template\s*<|\[\[|(requires|&&|\|\|)\s*\(|(requires|&&|\|\|)\s+[\w:]+\s*<)", text)
        if not m:
            return text.strip()
        depth, i = 0, m.start(1)
        for i in range(m.start(1), len(text)):
            depth += text[i] in "<[("
            depth -= text[i] in ">])"
            if depth == 0 and text[i] in ">])":
                break
        text = text[i + 1 :]


def param_paren(bare):
    """Index of the `(` that opens a function's parameters, or None."""
    m = re.search(r"\boperator\s*\(\s*\)", bare)
    if m:
        return bare.index("(", m.end())
    depth = 0
    for i, c in enumerate(bare):
        if c == "<" and not bare.endswith("operator", 0, i) and bare[i - 1 : i] != "<":
            depth += 1
        elif c == ">" and depth > 0 and bare[i - 1 : i] != "-":
            depth -= 1
        elif c == "(" and depth == 0:
            return i
    return None


def matching_paren(text, i):
    depth = 0
    for j in range(i, len(text)):
        depth += (text[j] == "(") - (text[j] == ")")
        if depth == 0:
            return j + 1
    return len(text)


def function_name(bare, paren):
    m = re.search(r"(operator\b.*|~?\w+(?:<[^()]*>)?)$", bare[:paren].rstrip())
    name = m.group(1) if m else "?"
    return re.sub(r"\s+", " ", name) if name.startswith("operator") else re.sub(r"<.*", "", name)


def is_qualified(text):
    bare = strip_template(text)
    paren = param_paren(bare)
    return paren is not None and re.search(r"::\s*(~?\w+|operator\b.*)$", bare[:paren].rstrip()) is not None


def type_name(text):
    m = re.match(r"(?:class|struct|union|enum(?:\s+class|\s+struct)?)\s+(?:\[\[[^\]]*\]\]\s*)?(\w+)", strip_template(text))
    return m.group(1) if m else "?"


def declaration(text, doc, scope_kind):
    """An Entry for a `;`-terminated declaration, or None for what the reference omits."""
    bare = strip_template(text)
    word = re.match(r"\w+", bare)
    first = word.group(0) if word else ""  # `static_assert(` has no space before its paren
    if not bare or first in ("static_assert", "friend") or text.startswith(("extern template", "template class")):
        return None
    if re.fullmatch(r"(class|struct|union|enum(\s+class)?)\s+\w+(\s*:\s*[\w:]+)?", bare):
        return None  # forward declaration
    if first == "using":
        m = re.match(r"using\s+(\w+)\s*=", bare)
        if m:
            return Entry("alias", m.group(1), text + ";", doc)
        return None if bare.startswith("using namespace") or scope_kind != "class" else Entry("using", bare, text + ";", doc)
    paren = param_paren(bare)
    pointer = re.match(r"\(\s*[*&]\s*(\w+)\s*\)", bare[paren:]) if paren is not None else None
    if pointer:  # a function pointer: `void (*hook)() = nullptr;`
        return Entry("variable" if scope_kind != "class" else "field", pointer.group(1), text + ";", doc)
    if paren is not None and not assigns(bare[:paren]):
        name = function_name(bare, paren)
        if re.search(r"::\s*" + re.escape(name) + "$", bare[:paren].rstrip()):
            return None  # out-of-class declaration of a member
        return Entry("function", name, text + ";", doc)
    m = re.search(r"(\w+)\s*(=|\{|\[|$)", top_level(bare).split("=")[0] + "=")
    return Entry("variable" if scope_kind != "class" else "field", m.group(1) if m else "?", text + ";", doc)


def read_header(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    intro = []
    for line in text.split("\n"):
        if not line.startswith("//"):
            break
        intro.append(line[3:].rstrip() if line.startswith("// ") else line[2:].rstrip())
    return intro, Reader(text).scope("namespace", "public", False)


def render_intro(intro):
    """A header's leading comment as markdown: paragraphs, and its indented lines (tables
    of names and meanings) as a text block."""
    out, table = [], False
    for line in intro:
        if line.startswith("  ") != table:
            out += ["```text"] if not table else ["```"]
            table = not table
        out.append(line if table else prose(line))
    return out + (["```"] if table else [])


# --- writing markdown -----------------------------------------------------------------


def prose(line):
    """A doc line as markdown: `<` outside code spans escaped so it is not read as HTML."""
    parts = re.split(r"(`[^`]*`)", line)
    line = "".join(p if p.startswith("`") else link_docs(p.replace("<", "&lt;")) for p in parts)
    return re.sub(r"^([#>+]|\d+\.)", r"\\\1", line)


def link_docs(text):
    """Mentions of docs/<page>.md become links (these pages live in docs/api/), whether or
    not the page exists: the output depends on the headers only, and the link check
    reports a header naming a page that is not there."""
    return re.sub(r"\bdocs/([\w-]+\.md)\b", r"[docs/\1](../\1)", text)


def render_doc(doc):
    out, code = [], None
    for raw in doc:
        line = raw.rstrip()
        tag = re.match(r"\s*@(\w+)\s*(.*)$", line)
        if code is not None:
            if tag and tag.group(1) == "endcode":
                indent = min((len(l) - len(l.lstrip()) for l in code if l.strip()), default=0)
                out += ["```c++"] + [l[indent:] for l in code] + ["```", ""]
                code = None
            else:
                code.append(line)
            continue
        if not tag:
            in_item = out and out[-1].startswith(("- **", "  ")) and line.strip()
            out.append(("  " if in_item else "") + prose(line.strip()))  # an item's next line
            continue
        name, rest = tag.groups()
        if name == "code":
            code = []
            if out and out[-1]:
                out.append("")
        elif name == "par":
            out += ["", f"**{prose(rest)}**", ""]
        elif name == "throws" and rest.startswith(PARKING_ERRORS[0]):
            out.append(f"- **Throws** {PARKING_ERRORS[1]}{prose(rest[len(PARKING_ERRORS[0]) :])}")
        elif name == "throws":
            kind, _, what = rest.partition(" ")
            if re.fullmatch(r"[A-Z][\w:]*|\w+::[\w:]+", kind):
                out.append(f"- **Throws** `{kind}`: {prose(what.strip())}")
            else:
                out.append(f"- **Throws** {prose(rest)}")
        elif name == "param":
            pname, _, what = rest.partition(" ")
            out.append(f"- **Parameter** `{pname}`: {prose(what.strip())}")
        elif name in ("return", "returns"):
            out.append(f"- **Returns** {prose(rest)}")
        elif name == "note":
            out.append(f"- **Note** {prose(rest)}")
        elif name == "brief":
            out.append(prose(rest))
        else:
            out.append(prose(line.strip()))
    text, lines = [], []
    for line in out:  # a list needs a blank line before it, and one blank line is enough
        if line.startswith("- **") and lines and lines[-1] and not lines[-1].startswith(("- ", "  ")):
            lines.append("")
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def synopsis(entry):
    """A class's declaration with its public members, bodies stripped."""
    out = [entry.decls[0] + " {"]
    if re.match(r"class\b", strip_template(entry.decls[0])):
        out.append(" public:")
    for decls, doc in entry.synopsis:
        for d in decls:
            out += ["  /// " + l if l else "  ///" for l in doc]
            out += ["  " + l if l else "" for l in d.split("\n")]
    return "\n".join(out + ["};"])


def render_entry(entry, prefix, level, headings):
    name = (prefix or entry.namespace) + entry.name
    headings.append(name)
    lines = ["#" * min(level, 6) + f" `{name}`", "", "```c++"]
    lines += [synopsis(entry)] if entry.kind == "class" else ["\n".join(entry.decls)]
    lines += ["```", ""]
    doc = render_doc(entry.doc)
    lines += doc + ([""] if doc else [])
    for member in entry.members:
        lines += render_entry(member, name + "::", level + 1, headings)
    return lines


def slugs(headings):
    """The GitHub anchors of `headings` in order (repeats get -1, -2...)."""
    seen, out = {}, []
    for h in headings:
        s = github_slug(h)
        out.append(s if s not in seen else f"{s}-{seen[s]}")
        seen[s] = seen.get(s, 0) + 1
    return out


def module_headers(module):
    base = os.path.join(ROOT, module, "include")
    found = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "detail")
        found += [os.path.relpath(os.path.join(folder, f), base) for f in files if f.endswith((".hpp", ".h"))]
    found.sort()
    umbrella = f"braid/{module}.hpp"
    order = [umbrella] if umbrella in found else []
    if order:
        with open(os.path.join(base, umbrella), encoding="utf-8") as f:
            order += [h for h in re.findall(r'#include\s*[<"]([^>"]+)[>"]', f.read()) if h in found]
    return order + [h for h in found if h not in order]


def render_module(module):
    """(page text, [(header, intro, [top-level names with anchors])])."""
    base = os.path.join(ROOT, module, "include")
    sections, headings = [], []
    for header in module_headers(module):
        intro, entries = read_header(os.path.join(base, header))
        if entries or header == f"braid/{module}.hpp":  # not the internal-only ones
            sections.append((header, intro, entries))
    body, toc, summary = [], [], []
    for header, intro, entries in sections:
        headings.append(header)
        header_index = len(headings) - 1
        body += [f"## {header}", ""] + render_intro(intro) + ([""] if intro else [])
        body.append(f"`#include <{header}>`")
        body.append("")
        tops = []
        for entry in entries:
            tops.append((len(headings), entry.namespace + entry.name))
            body += render_entry(entry, "", 3, headings)
        toc.append((header_index, header, tops))
    anchors = slugs(["Contents"] + headings)[1:]
    lines = [f"# `{module}` API", "",
             f"Generated from `{module}/include/` by `scripts/gen_api_reference.py`: do not edit, re-run",
             "the script after changing a public header. Back to the [API reference](index.md).", "",
             "## Contents", ""]
    for header_index, header, tops in toc:
        names = ", ".join(f"[`{n}`](#{anchors[i]})" for i, n in tops)
        lines.append(f"- [{header}](#{anchors[header_index]})" + (f": {names}" if names else ""))
        summary.append((header, anchors[header_index], sections[len(summary)][1]))
    lines.append("")
    return "\n".join(lines + body).rstrip("\n") + "\n", summary


def render_index(modules):
    lines = ["# API reference", "",
             "Every public class, function, alias and enum of braid, with its declaration and doc",
             "comment, generated from the public headers by `scripts/gen_api_reference.py` (do not",
             "edit these pages: re-run the script; the test `docs.api_reference_current` fails while",
             "they are stale). `#include <braid/braid.hpp>` brings in everything; the guides in",
             "[the documentation index](../index.md) show how the pieces fit together.", ""]
    for module, summary in modules:
        lines += [f"## [{module}]({module}.md)", "", "| header | what it declares |", "|---|---|"]
        for header, anchor, intro in summary:
            first = " ".join(intro[: intro.index("")] if "" in intro else intro)
            lines.append(f"| [`{header}`]({module}.md#{anchor}) | {prose(first).replace('|', '&#124;')} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def generate(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    pages, modules = {}, []
    for module in MODULES:
        if os.path.isdir(os.path.join(ROOT, module, "include")) and module_headers(module):
            pages[f"{module}.md"], summary = render_module(module)
            modules.append((module, summary))
    pages["index.md"] = render_index(modules)
    for name in sorted(os.listdir(out_dir)):
        if name.endswith(".md") and name not in pages:
            os.remove(os.path.join(out_dir, name))
    for name, text in sorted(pages.items()):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return sorted(pages)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "api"))
    parser.add_argument("--check", action="store_true", help="compare docs/api with a fresh run")
    args = parser.parse_args()
    if not args.check:
        for name in generate(args.out):
            print(os.path.join(args.out, name))
        return 0
    committed = os.path.join(ROOT, "docs", "api")
    with tempfile.TemporaryDirectory() as fresh:
        names = generate(fresh)
        have = sorted(n for n in os.listdir(committed) if n.endswith(".md")) if os.path.isdir(committed) else []
        _, differ, missing = filecmp.cmpfiles(committed, fresh, names, shallow=False)
        extra = [n for n in have if n not in names]
    if differ or missing or extra:
        print("docs/api is stale: run scripts/gen_api_reference.py")
        for what, files in (("differs", differ), ("missing", missing), ("not generated any more", extra)):
            if files:
                print(f"  {what}: {', '.join(files)}")
        return 1
    print(f"docs/api is current ({len(names)} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
