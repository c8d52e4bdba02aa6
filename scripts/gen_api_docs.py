#!/usr/bin/env python3
"""Writes docs/api.md from the public headers (include/deepclust.h and
include/deepclust/*.h): each header's leading comment as prose, then its
declarations with their comments. Run after changing a header:

    python3 scripts/gen_api_docs.py          # rewrite docs/api.md
    python3 scripts/gen_api_docs.py --check  # exit 1 if docs/api.md is stale
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ORDER = ["version", "export", "status", "core", "dataset", "metrics", "solver", "model",
         "graph", "dbas"]
# deepclust/mpi.h (MPI builds only) sorts last among the others, by name.


def headers():
    found = sorted((ROOT / "include" / "deepclust").glob("*.h"))
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda p: (rank.get(p.stem, len(ORDER)), p.stem))


def split_header(text):
    """(leading comment, body) with guards, includes and extern "C" removed."""
    lead = ""
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    if m:
        lead = "\n".join(line.strip().lstrip("*").strip() for line in m.group(1).splitlines())
        text = text[m.end():]
    lines = text.splitlines()
    # The last #endif closes the include guard.
    for j in range(len(lines) - 1, -1, -1):
        if lines[j].strip().startswith("#endif"):
            del lines[j]
            break
    guard = re.compile(r"^\s*#\s*(ifndef|define)\s+DEEPCLUST_\w*_H\s*$|^\s*#\s*include\b")
    keep = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "#ifdef __cplusplus":
            # drop the extern "C" wrapper: "#ifdef __cplusplus / extern "C" { or } / #endif"
            i += 3
            continue
        if not guard.match(line):
            keep.append(line)
        i += 1
    body = "\n".join(keep).strip("\n")
    body = re.sub(r"\n{3,}", "\n\n", body)
    return lead.strip(), body


def render():
    out = ["# libdeepclust C API reference", "",
           "Generated from the public headers by `scripts/gen_api_docs.py`; the headers are",
           "the source of truth. Include only `<deepclust.h>`. Conventions: every fallible",
           "call returns a `dc_status` (0 = `DC_OK`, negative codes pinned); after a failure",
           "`dc_last_error()` gives the detail on the calling thread. Free functions accept",
           "NULL. Arrays are row-major; outputs go into caller buffers with a size query.",
           ""]
    out.append("Headers: " + ", ".join(f"[`{p.name}`](#{p.stem})" for p in headers()))
    out.append("")
    for p in headers():
        lead, body = split_header(p.read_text())
        out += [f'<a id="{p.stem}"></a>', f"## `deepclust/{p.name}`", ""]
        if lead:
            out += [lead, ""]
        if body:
            out += ["```c", body, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def main():
    target = ROOT / "docs" / "api.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/api.md is stale: run python3 scripts/gen_api_docs.py")
            print("0 passed, 1 failed")
            return 1
        print("1 passed, 0 failed")
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
