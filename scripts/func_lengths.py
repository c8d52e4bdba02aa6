#!/usr/bin/env python3
"""C functions that are long or take many arguments (issue 13's limits).

    python3 scripts/func_lengths.py                 # lib/ and src/, the limits below
    python3 scripts/func_lengths.py --max-lines 60 --max-args 6 lib/graph
    python3 scripts/func_lengths.py --all           # every function, longest first

A function's length counts its lines from the first line of its signature to
its closing brace. The parse matches braces after removing comments, strings
and preprocessor lines: good enough for this code base (no K&R definitions,
no braces hidden in macros), not a C parser. Exit status 1 when some
function is over a limit.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def strip(text):
    """Comments, string and character literals and preprocessor lines blanked
    to spaces; newlines kept, so that offsets map to the same lines."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == '#':  # a directive, with its continuation lines
            j = i
            while j < n and not (text[j] == '\n' and text[j - 1] != '\\'):
                j += 1
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
            continue
        if c == '/' and text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
            continue
        if c == '/' and text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
            continue
        if c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(c + re.sub(r'[^\n]', ' ', text[i + 1:j]) + c)
            i = j + 1
            continue
        out.append(c)
        if c == '\n':
            line_start = True
        elif not c.isspace():
            line_start = False
        i += 1
    return ''.join(out)


def functions(path):
    """(name, first line, last line, number of arguments) per definition."""
    text = strip(open(path, encoding='utf-8').read())
    found = []
    depth = 0
    stmt_start = 0  # offset after the last top-level ';' or '}'
    i = 0
    while i < len(text):
        c = text[i]
        if c == '{':
            if depth == 0:
                head = text[stmt_start:i]
                m = re.search(r'([A-Za-z_]\w*)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$', head)
                if m and not re.search(r'=\s*$', head[:m.start()]):
                    name, params = m.group(1), m.group(2).strip()
                    if name not in ('if', 'for', 'while', 'switch'):
                        first = text.count('\n', 0, stmt_start + len(head) - len(head.lstrip())) + 1
                        end = match_brace(text, i)
                        last = text.count('\n', 0, end) + 1
                        nargs = 0 if params in ('', 'void') else params.count(',') + 1
                        found.append((name, first, last, nargs))
                        i = end + 1
                        stmt_start = i
                        continue
            depth += 1
        elif c == '}':
            depth -= 1
            if depth == 0:
                stmt_start = i + 1
        elif c == ';' and depth == 0:
            stmt_start = i + 1
        i += 1
    return found


def match_brace(text, i):
    depth = 0
    for j in range(i, len(text)):
        if text[j] == '{':
            depth += 1
        elif text[j] == '}':
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def c_files(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for folder, _, names in sorted(os.walk(p)):
            for name in sorted(names):
                if name.endswith('.c'):
                    yield os.path.join(folder, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('paths', nargs='*', help='files or folders (default: lib src)')
    ap.add_argument('--max-lines', type=int, default=120)
    ap.add_argument('--max-args', type=int, default=7,
                    help='report functions with more arguments than this')
    ap.add_argument('--all', action='store_true', help='list every function')
    args = ap.parse_args()
    paths = args.paths or [os.path.join(ROOT, 'lib'), os.path.join(ROOT, 'src')]
    rows = []
    for path in c_files(paths):
        rel = os.path.relpath(path, ROOT)
        for name, first, last, nargs in functions(path):
            rows.append((last - first + 1, nargs, rel, first, name))
    rows.sort(key=lambda r: (-r[0], r[2], r[3]))
    long_ = [r for r in rows if r[0] > args.max_lines]
    wide = sorted((r for r in rows if r[1] > args.max_args), key=lambda r: (-r[1], r[2], r[3]))
    if args.all:
        for r in rows:
            print('%5d lines %3d args  %s:%d %s' % r)
        return 0
    print('functions over %d lines: %d' % (args.max_lines, len(long_)))
    for r in long_:
        print('%5d lines  %s:%d %s' % (r[0], r[2], r[3], r[4]))
    print('functions with more than %d arguments: %d' % (args.max_args, len(wide)))
    for r in wide:
        print('%5d args   %s:%d %s' % (r[1], r[2], r[3], r[4]))
    return 1 if long_ or wide else 0


if __name__ == '__main__':
    sys.exit(main())
