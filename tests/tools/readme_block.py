#!/usr/bin/env python3
"""Prints the generated block NAME of README.md: the lines between "<!-- NAME:begin -->" and
"<!-- NAME:end -->" (the tests compare it with the command that generates it).
Usage: readme_block.py NAME [README]"""
import sys

name = sys.argv[1]
s = open(sys.argv[2] if len(sys.argv) > 2 else "README.md", encoding="utf-8").read()
begin, end = "<!-- %s:begin -->\n" % name, "<!-- %s:end -->" % name
sys.stdout.write(s[s.index(begin) + len(begin):s.index(end)])
