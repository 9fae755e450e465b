#!/usr/bin/env python3
"""Compares two benchmark reports (scripts/bench.sh): every figure in a table row of the new
report next to the same row and column of the old one, with the ratio new / old. A ratio of 2
or more (or 1/2 or less) is marked, so a change that makes a figure twice worse (or better)
stands out in the report's diff. Rows match by section heading and first cell; one-line
figures ("One produce->consume hop: p50 0.014 ms ...", "One produce->consume hop with 13 other
readers ...: p50 ...") match by section and the text before the colon.

    python3 bench/compare.py OLD_REPORT NEW_REPORT   # a Markdown section on stdout
"""
import re
import sys

NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:x)?$")
HOP = re.compile(r"\b(p50|p95|p99) (-?\d+(?:\.\d+)?) ms\b")


def figures(text):
    """{(section, row, column): value} of every number in the report's tables and hop lines."""
    out, section, header = {}, "", None
    for line in text.splitlines():
        if line.startswith("#"):
            section, header = line.lstrip("#").strip(), None
            continue
        if line.startswith("One produce->consume hop"):
            label = line.split(":", 1)[0]
            row = "one hop" if label == "One produce->consume hop" else label
            for name, value in HOP.findall(line):
                out[(section, row, name + " ms")] = float(value)
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue  # the |---| line
        for column, cell in zip(header[1:], cells[1:]):
            if NUMBER.match(cell):
                out[(section, cells[0], column)] = float(cell.rstrip("x"))
    return out


def number(v):
    return f"{v:g}"


def compare(old_text, new_text):
    old, new = figures(old_text), figures(new_text)
    lines = ["| section | row | figure | before | now | now / before |", "|---|---|---|---|---|---|"]
    marked = 0
    for key, value in new.items():
        if key not in old:
            continue
        before = old[key]
        if before == 0:
            ratio = "-" if value == 0 else "new"
        else:
            r = value / before
            ratio = f"{r:.2f}"
            if r >= 2 or r <= 0.5:
                ratio = f"**{ratio}**"
                marked += 1
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {number(before)} | {number(value)} | {ratio} |")
    compared = len(lines) - 2
    head = (f"{compared} figures compared, {marked} changed by 2x or more (marked); "
            f"{len(set(new) - set(old))} new, {len(set(old) - set(new))} gone.")
    return head + "\n\n" + "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: compare.py OLD_REPORT NEW_REPORT")
    with open(sys.argv[1]) as a, open(sys.argv[2]) as b:
        sys.stdout.write(compare(a.read(), b.read()))
