#!/usr/bin/env python3
"""Checks the relative links of README.md and docs/**/*.md, so a moved or renamed page or
heading fails the test suite instead of leaving a dead link.

Every markdown link, image and reference definition ([text](target), ![alt](target),
[id]: target) and every HTML href/src outside code must point to an existing file or
directory inside the repository; a `#anchor` into a markdown file (or into the page itself)
must name one of its headings, slugged the way GitHub does (lowercase, punctuation dropped,
spaces to hyphens, -1/-2... for repeats), or an explicit <a id/name="...">. Links that leave
the repository (../shared/API.md) are errors: readers of the repository do not have those
files. http(s) and mailto links are not fetched.

Limits: links are found with regular expressions, not a full CommonMark parser (nested
brackets in link text and links split across lines are not seen); heading text is slugged
after stripping links, code ticks, emphasis stars and HTML tags, which covers what these
docs use.

Usage: check_doc_links.py [REPO_ROOT]   (default: the parent of this script's folder)
Exit status 1 with one line per broken link (file:line: what is wrong).
"""
import os
import re
import sys
from urllib.parse import unquote

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target "title") and ![alt](target); the text may hold one level of [..] (images
# inside links).
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*\"([^\"]*)\"", re.I)
HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:id|name)\s*=\s*\"([^\"]*)\"", re.I)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def github_slug(text):
    """The anchor GitHub gives a heading with this (markdown) text, before de-duplication."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and _ (any script)
    return text.replace(" ", "-")


def prose_lines(path, keep_code_spans=False):
    """(line number, text) of every line outside fenced code blocks, inline code removed
    unless `keep_code_spans`."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    fence = None
    for n, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            continue
        if fence is not None:
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                fence = None
            continue
        yield n, line if keep_code_spans else INLINE_CODE.sub("", line)


def anchors(path):
    """Every anchor a markdown file defines: heading slugs (GitHub's -N for repeats) and
    explicit <a id/name>."""
    found, seen = set(), {}
    previous = ""
    for _, line in prose_lines(path, keep_code_spans=True):
        m = HEADING.match(line)
        text = m.group(2) if m else None
        if text is None and SETEXT.match(line) and previous.strip() and not HEADING.match(previous):
            text = previous.strip()
        if text is not None:
            slug = github_slug(text)
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
        found.update(HTML_ANCHOR.findall(line))
        previous = line
    return found


def links(path):
    """(line number, target) of every link in a markdown file's prose."""
    for n, line in prose_lines(path):
        for m in INLINE_LINK.finditer(line):
            yield n, m.group(1)
        m = REFERENCE_DEF.match(line)
        if m:
            yield n, m.group(1)
        for target in HTML_LINK.findall(line):
            yield n, target


def check_link(root, page, target, anchor_cache):
    """What is wrong with `target` as written in `page`, or None."""
    target = target.strip("<>")
    if not target or EXTERNAL.match(target):
        return None
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part)
    if not path_part:
        dest = page
    elif path_part.startswith("/"):  # GitHub resolves /x from the repository root
        dest = os.path.normpath(os.path.join(root, path_part.lstrip("/")))
    else:
        dest = os.path.normpath(os.path.join(os.path.dirname(page), path_part))
    if os.path.commonpath([root, os.path.realpath(dest)]) != root:
        return f"link '{target}' leaves the repository (readers of the repository do not have it)"
    if not os.path.exists(dest):
        return f"link '{target}': {os.path.relpath(dest, root)} does not exist"
    if anchor and dest.endswith(".md"):
        if dest not in anchor_cache:
            anchor_cache[dest] = anchors(dest)
        if unquote(anchor).lower() not in anchor_cache[dest]:
            return f"link '{target}': {os.path.relpath(dest, root)} has no heading with anchor #{anchor}"
    return None


def pages(root):
    found = [os.path.join(root, "README.md")] if os.path.exists(os.path.join(root, "README.md")) else []
    for folder, dirs, files in os.walk(os.path.join(root, "docs")):
        dirs.sort()
        found += [os.path.join(folder, f) for f in sorted(files) if f.endswith(".md")]
    return found


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, ".."))
    errors, anchor_cache, count = [], {}, 0
    for page in pages(root):
        for line, target in links(page):
            count += 1
            problem = check_link(root, page, target, anchor_cache)
            if problem:
                errors.append(f"{os.path.relpath(page, root)}:{line}: {problem}")
    for e in errors:
        print(e)
    if errors:
        print(f"check_doc_links: {len(errors)} broken link(s) of {count} in {root}")
        return 1
    print(f"check_doc_links: {count} links checked, all resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
