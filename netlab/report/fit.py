"""Fitting output to the terminal: how wide it is, and long lines wrapped with a continuation mark.

A projector terminal is often 80-100 columns. Every command's text goes through `fit` at the width `width()`
picks: `--width N`, else $COLUMNS, else the terminal's width, else 100 (a pipe, a CI log). Grids are laid out for
that width by the console report itself (side by side only when they fit, numbered columns with a legend when
one grid alone is too wide); what is still too long here (a firewall rule, a command, a sentence) is broken at a
space where it can be, ending in ` \\` with the rest indented two more columns under it, so a shell command stays
a shell command.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from typing import TextIO

#: the width of output that goes to no terminal (a pipe, a file, a CI log)
DEFAULT = 100
#: below this nothing is readable: a smaller --width or $COLUMNS is raised to it
NARROWEST = 40
MARK = " \\"
_ANSI = re.compile(r"\033\[[0-9;]*m")


def width(asked: int | None = None, stream: TextIO | None = None) -> int:
    """The width to fit to: `asked` (--width), else $COLUMNS, else the terminal's, else DEFAULT."""
    if asked is not None:
        return max(NARROWEST, asked)
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(NARROWEST, int(columns))
    out = stream or sys.stdout
    if out.isatty():
        return max(NARROWEST, shutil.get_terminal_size((DEFAULT, 24)).columns)
    return DEFAULT


def visible(line: str) -> int:
    return len(_ANSI.sub("", line))


def fit(text: str, columns: int) -> str:
    """`text` with every line longer than `columns` wrapped (colour is dropped from a line that is wrapped)."""
    out: list[str] = []
    for line in text.split("\n"):
        if visible(line) <= columns:
            out.append(line)
        else:
            out += wrap(_ANSI.sub("", line), columns)
    return "\n".join(out)


def wrap(line: str, columns: int) -> list[str]:
    """One long line as several: each but the last ends in the continuation mark, the later ones indented two
    columns more than the first; broken at the last space that fits, else (one long word) where it must."""
    indent = len(line) - len(line.lstrip(" "))
    lead = " " * min(indent + 2, columns // 2)
    out: list[str] = []
    rest = line
    first = True
    while visible(rest) > columns:
        room = columns - len(MARK)
        cut = rest.rfind(" ", (indent if first else len(lead)) + 1, room + 1)
        if cut <= (indent if first else len(lead)):
            cut = room
        out.append(rest[:cut].rstrip() + MARK)
        rest = lead + rest[cut:].lstrip(" ")
        first = False
    out.append(rest)
    return out
