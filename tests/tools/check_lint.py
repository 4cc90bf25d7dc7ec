#!/usr/bin/env python3
"""check_lint.py FILE... - finds e2e `check` calls whose condition leaks out of the call.

`check NAME [ a ] && [ b ]` is two commands to the shell: check runs `[ a ]` and prints PASS or
FAIL, and `[ b ]` runs afterwards with its result dropped. The same holds for `||` and `|`.
This scanner follows shell quoting ('...', "...", \\x, $(...), <(...), `...`) from each line that
starts a `check` call (outside here-documents) and reports every &&, || or | at the top level
of that command. The
condition belongs in one quoted string: check NAME '[ a ] && [ b ]'.
Prints FILE:LINE: TEXT for each finding; exits 1 when there is one.
"""
import re
import sys

START = re.compile(r"^\s*check\s")
HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z_0-9]*)\2")


def scan(text, pos):
    """Scans one command from pos; returns the offset of a leaking operator, or None."""
    stack = []  # 'sq', 'dq', 'paren', 'bt'
    n = len(text)
    i = pos
    while i < n:
        c = text[i]
        top = stack[-1] if stack else None
        nxt = text[i + 1] if i + 1 < n else ""
        if top == "sq":
            if c == "'":
                stack.pop()
            i += 1
            continue
        if top == "bt":
            if c == "\\":
                i += 2
                continue
            if c == "`":
                stack.pop()
            i += 1
            continue
        if top == "dq":
            if c == "\\":
                i += 2
            elif c == '"':
                stack.pop()
                i += 1
            elif c == "$" and nxt == "(":
                stack.append("paren")
                i += 2
            elif c == "`":
                stack.append("bt")
                i += 1
            else:
                i += 1
            continue
        # top level of the command, or inside $( ... )
        if c == "\\":
            i += 2
            continue
        if c == "'":
            stack.append("sq")
        elif c == '"':
            stack.append("dq")
        elif c == "`":
            stack.append("bt")
        elif c == "(":
            stack.append("paren")
        elif c == ")" and top == "paren":
            stack.pop()
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n") and (top is None or top == "paren"):
            j = text.find("\n", i)
            if top is None:
                return None
            i = n if j < 0 else j
            continue
        elif top is None:
            if c == "\n" or c == ";":
                return None
            if c == "&" and nxt == "&":
                return i
            if c == "|":
                return i
            if c == "&":
                return None
        i += 1
    return None


def main(paths):
    found = 0
    for path in paths:
        try:
            text = open(path, encoding="utf-8").read()
        except OSError as e:
            print("%s: %s" % (path, e))
            found += 1
            continue
        offset = 0
        heredoc = None  # the terminator of the here-document being skipped
        for lineno, line in enumerate(text.split("\n"), 1):
            if heredoc is not None:
                if line.strip() == heredoc:
                    heredoc = None
                offset += len(line) + 1
                continue
            h = HEREDOC.search(line.replace("<<<", ""))
            if h:
                heredoc = h.group(3)
            if START.match(line):
                leak = scan(text, offset + line.index("check") + len("check"))
                if leak is not None:
                    found += 1
                    print("%s:%d: %s" % (path, lineno, line.strip()[:160]))
            offset += len(line) + 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
