"""The settings table of docs/operations.md, made from config.py: each environment variable it
reads, its default and the comment above it, under the section (``# --- ... ---``) it sits in.
config.py is the one place for both; a test checks the table still says what it says.

    python docs/settings_table.py           # print the table
    python docs/settings_table.py --write   # put it into docs/operations.md
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.py"
DOC = ROOT / "docs" / "operations.md"
START, END = "<!-- settings: made by docs/settings_table.py -->", "<!-- settings end -->"
READERS = ("_int", "_float", "_optional_int", "get")
SECTION = re.compile(r"^\s*# --- (.+?) -*$")


def settings(source: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """[(section, [(variable, default, what)])] in the order config.py reads them."""
    lines = source.split("\n")
    found: list[tuple[str, list]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Assign):
            continue
        for call in (n for n in ast.walk(node.value) if isinstance(n, ast.Call)):
            name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
            if name not in READERS or not call.args or not isinstance(call.args[0], ast.Constant):
                continue
            default = ast.get_source_segment(source, call.args[1]) if len(call.args) > 1 else "unset"
            found.append((node.lineno, call.args[0].value, _plain(default), _comment(lines, node)))
    sections: list[tuple[str, list]] = []
    for lineno, variable, default, what in sorted(found):
        section = _section(lines, lineno)
        if not sections or sections[-1][0] != section:
            sections.append((section, []))
        sections[-1][1].append((variable, default, what))
    return sections


def _plain(default: str) -> str:
    default = default.strip()
    if default.startswith(("'", '"')) and default.endswith(("'", '"')):
        return default[1:-1] or "empty"
    return default


def _comment(lines: list[str], node: ast.Assign) -> str:
    """The comment block above the assignment, or above the run of assignments it ends (no
    blank line between), and its own comment at the end of the line."""
    inline = lines[node.lineno - 1].split("  # ", 1)[1].strip() if "  # " in lines[node.lineno - 1] else ""
    i, block = node.lineno - 2, []
    while i >= 0 and lines[i].strip() and not SECTION.match(lines[i]):
        if lines[i].strip().startswith("#"):
            block.insert(0, lines[i].strip().lstrip("#").strip())
        elif block:
            break
        i -= 1
    return " ".join(block + [inline]).strip()


def _section(lines: list[str], lineno: int) -> str:
    for line in reversed(lines[: lineno - 1]):
        match = SECTION.match(line)
        if match:
            return match.group(1).rstrip(" -:")
    return "Site"


def table(source: str) -> str:
    out = [START, ""]
    for section, rows in settings(source):
        out += [f"### {section}", "", "| variable | default | what |", "| --- | --- | --- |"]
        out += [f"| `{v}` | `{d}` | {w.replace('|', '/')} |" for v, d, w in rows]
        out.append("")
    return "\n".join(out + [END])


def with_table(doc: str, source: str) -> str:
    before, _, rest = doc.partition(START)
    _, _, after = rest.partition(END)
    return before + table(source) + after


if __name__ == "__main__":
    made = table(CONFIG.read_text(encoding="utf-8"))
    if "--write" in sys.argv:
        DOC.write_text(with_table(DOC.read_text(encoding="utf-8"), CONFIG.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(made)
