#!/usr/bin/env python3
"""The reason-code audit (README "Reason codes"): every failure a client or operator sees
carries a stable code from the one table, src/core/reason.c.

Finds in src/ every call that answers an error and takes its code argument:
  http_respond_error(req, status, message, param, CODE)
  chat_fail(c, status, message, param, CODE, LOG_REASON)
  api_error_json(out, message, type, param, CODE)
the request log reasons (error_reason = ...), and every log or stderr line that carries a
"[CODE] " (after an optional "program: "). A string literal must be a row of the table; NULL
is an error without a code (a problem); another expression is passed on from a caller whose
own literal is checked where it is written (listed with -v). In the files of TEXT_AUDITED
(the server's start-up and degraded-dependency lines) every log_error/log_warn and stderr
line must carry a code.
Usage: reason_codes.py [-v] [SRC_DIR] (default src); prints PROBLEM lines, exits 1 on any.
"""
import os
import re
import sys

CALLS = {"http_respond_error": [4], "chat_fail": [4, 5], "api_error_json": [4], "conn_fail": [3]}
TABLE_ROW = re.compile(r'^\s*R\("([a-z0-9_]+)"', re.M)
# a text line of an operator: log_*("[code] ...") or fprintf(stderr, "semrouter...: [code] ...")
TEXT_LINE = re.compile(r'\b(log_(?:error|warn)\s*\(|fprintf\s*\(\s*stderr\s*,)\s*"((?:[^"\\]|\\.)*)"')
TEXT_CODE = re.compile(r'^(?:[a-z][a-z -]*: )?\[([a-z0-9_]+)\] ')
ASSIGN = re.compile(r'\berror_reason\s*=\s*([^;]+);')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
# Files whose every error and warning line (and stderr line) must carry a code: the start-up and
# the degraded-dependency lines of the server.
TEXT_AUDITED = {"api/gateway.c"}
# File-local error helpers whose NULL code is defaulted inside them (their literals are checked).
LOCAL_CALLS = {"api/embeddings.c": {"fail": [4]}}

def strip_comments(text):
    return re.sub(r'/\*.*?\*/|//[^\n]*', lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text, flags=re.S)


def args_at(text, i):
    """The top-level arguments of the call whose '(' is at text[i]."""
    depth, cur, out, j, in_str = 0, [], [], i, None
    while j < len(text):
        ch = text[j]
        if in_str:
            cur.append(ch)
            if ch == '\\':
                cur.append(text[j + 1])
                j += 1
            elif ch == in_str:
                in_str = None
        elif ch in '"\'':
            in_str = ch
            cur.append(ch)
        elif ch == '(':
            depth += 1
            if depth > 1:
                cur.append(ch)
        elif ch == ')':
            depth -= 1
            if depth == 0:
                out.append("".join(cur).strip())
                return out
            cur.append(ch)
        elif ch == ',' and depth == 1:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        j += 1
    return out


def main():
    verbose = "-v" in sys.argv
    rest = [a for a in sys.argv[1:] if a != "-v"]
    src = rest[0] if rest else "src"
    with open(os.path.join(src, "core", "reason.c"), encoding="utf-8") as f:
        rows = TABLE_ROW.findall(f.read())
    table = set(rows)
    problems, used, passed = [], set(), []
    for code in sorted(table):
        if rows.count(code) > 1:
            problems.append("code '%s' has %d rows in src/core/reason.c" % (code, rows.count(code)))

    def check_literal(path, line, code):
        used.add(code)
        if code not in table:
            problems.append("%s:%d: code '%s' is not in src/core/reason.c" % (path, line, code))

    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(".c"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = strip_comments(f.read())
            local = LOCAL_CALLS.get(rel, {})
            for fn, positions in list(CALLS.items()) + list(local.items()):
                for m in re.finditer(r'\b%s\s*\(' % fn, text):
                    line = text.count("\n", 0, m.start()) + 1
                    before = text[max(0, m.start() - 12):m.start()]
                    if re.search(r'(void|int)\s+$', before):
                        continue  # the definition
                    args = args_at(text, m.end() - 1)
                    for p in positions:
                        if p >= len(args):
                            continue
                        a = args[p]
                        lits = LITERAL.findall(a)
                        if a == "NULL" and fn in local:
                            continue
                        if a == "NULL":
                            problems.append("%s:%d: %s without a reason code" % (path, line, fn))
                        elif lits:
                            for lit in lits:
                                check_literal(path, line, lit)
                        else:
                            passed.append("%s:%d: %s passes %s" % (path, line, fn, a))
            for m in ASSIGN.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                for lit in LITERAL.findall(m.group(1)):
                    check_literal(path, line, lit)
            for m in TEXT_LINE.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                c = TEXT_CODE.match(m.group(2))
                if c:
                    check_literal(path, line, c.group(1))
                elif rel in TEXT_AUDITED:
                    problems.append("%s:%d: an operator's line without a [reason_code]" % (path, line))
    for code in sorted(table - used):
        problems.append("code '%s' of src/core/reason.c is written nowhere in %s" % (code, src))
    if verbose:
        for p in passed:
            print("PASSED " + p)
    for p in problems:
        print("PROBLEM " + p)
    print("%d codes in the table, %d used literally" % (len(table), len(used)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
