"""Keep netlab's Russian catalogue in step with the code (docs/translating.md).

    python tools/catalogue.py update [FRAGMENT.json ...]   rewrite netlab.po from the code, keep its translations,
                                                          take new ones from JSON files {"msgid": "msgstr"};
                                                          then compile netlab.mo
    python tools/catalogue.py check                       exit 1 naming what is untranslated or stale

The messages are found by reading the code, not by running it: every `_("...")` and `N_("...")` with one
string literal in netlab/, and in the bundled scenarios the words netlab prints (a Scenario's `title=`, a
stage's doc, an expectation's `claim=`). The .mo is written here from the .po (the GNU format, with no hash
table), so neither GNU gettext nor any other tool is needed to build or test netlab.
"""

from __future__ import annotations

import ast
import json
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "netlab" / "locale" / "ru" / "LC_MESSAGES" / "netlab.po"
MO = PO.with_suffix(".mo")
HEADER = "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nLanguage: ru\n"
FIELD = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _from_code(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_"):
            text = _literal(node.args[0]) if len(node.args) == 1 else None
            if text:
                found.append((text, node.lineno))
    return found


def _from_scenario(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        texts = [_literal(k.value) for k in node.keywords if k.arg in ("title", "doc", "claim")]
        if name == "stage" and len(node.args) >= 2:
            texts.append(_literal(node.args[1]))
        found += [(t, node.lineno) for t in texts if t]
    return found


def messages() -> dict[str, list[str]]:
    """Every message to translate -> where it is written (path:line), in the order of the code."""
    out: dict[str, list[str]] = {}
    sources = [(p, _from_code) for p in sorted((ROOT / "netlab").rglob("*.py"))]
    sources += [(p, _from_scenario) for p in sorted((ROOT / "scenarios").glob("*.py"))]
    for path, read in sources:
        for text, line in read(path):
            out.setdefault(text, []).append(f"{path.relative_to(ROOT)}:{line}")
    return out


def _unquote(s: str) -> str:
    return json.loads(s)  # a PO string is a C string; the escapes written here (\\ \" \n \t) are JSON's too


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def read_po(path: Path = PO) -> dict[str, str]:
    """msgid -> msgstr of a PO file (the header entry left out)."""
    entries: dict[str, str] = {}
    msgid: list[str] = []
    msgstr: list[str] = []
    current: list[str] | None = None

    def flush() -> None:
        if current is not None and msgid and "".join(msgid):
            entries["".join(msgid)] = "".join(msgstr)

    if not path.exists():
        return entries
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("msgid "):
            flush()
            msgid, msgstr = [_unquote(line[6:])], []
            current = msgid
        elif line.startswith("msgstr "):
            msgstr = [_unquote(line[7:])]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(_unquote(line))
    flush()
    return entries


def fields(text: str) -> set[str]:
    """The replacement fields `{name}` of a message (str.format's), which its translation must keep."""
    return set(FIELD.findall(text))


def write_po(found: dict[str, list[str]], translated: dict[str, str], path: Path = PO) -> None:
    out = ["# netlab's messages in Russian. Written by tools/catalogue.py update; translations are kept.", ""]
    out += ['msgid ""', 'msgstr ""'] + [_quote(line + "\n") for line in HEADER.splitlines()] + [""]
    for msgid, where in found.items():
        out.append("#: " + " ".join(where))
        if fields(msgid):
            out.append("#, python-brace-format")
        out += [f"msgid {_quote(msgid)}", f"msgstr {_quote(translated.get(msgid, ''))}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out))


def mo_bytes(translated: dict[str, str]) -> bytes:
    """The GNU .mo image of a catalogue: header, the two string tables sorted by msgid, then the strings."""
    pairs = sorted([("", HEADER), *((k, v) for k, v in translated.items() if v)], key=lambda kv: kv[0].encode())
    ids = [k.encode() for k, _ in pairs]
    strs = [v.encode() for _, v in pairs]
    n = len(pairs)
    start = 7 * 4 + 16 * n  # after the header and the two tables of (length, offset)
    table_ids, table_strs, blob = [], [], b""
    for data, table in [*((d, table_ids) for d in ids), *((d, table_strs) for d in strs)]:
        table.append((len(data), start + len(blob)))
        blob += data + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 28 + 16 * n)
    return head + b"".join(struct.pack("<2I", *e) for e in table_ids + table_strs) + blob


def problems() -> list[str]:
    """What keeps the catalogue from being complete and current (empty when it is)."""
    found, translated = messages(), read_po()
    out = [f"untranslated: {m!r} ({where[0]})" for m, where in found.items() if not translated.get(m)]
    out += [f"stale (no longer in the code): {m!r}" for m in translated if m not in found]
    for m, t in translated.items():
        if t and fields(m) != fields(t):
            out.append(f"fields differ: {m!r} has {sorted(fields(m))}, its translation {sorted(fields(t))}")
    if MO.exists() and MO.read_bytes() != mo_bytes({m: t for m, t in translated.items() if m in found}):
        out.append(f"{MO.relative_to(ROOT)} is older than the .po: run python tools/catalogue.py update")
    elif not MO.exists():
        out.append(f"{MO.relative_to(ROOT)} is missing: run python tools/catalogue.py update")
    return out


def update(fragments: list[Path]) -> None:
    found, translated = messages(), read_po()
    for fragment in fragments:
        translated.update(json.loads(fragment.read_text()))
    kept = {m: t for m, t in translated.items() if m in found}
    write_po(found, kept)
    MO.write_bytes(mo_bytes({m: t for m, t in kept.items() if t}))
    missing = [m for m in found if not kept.get(m)]
    print(f"{len(found)} messages, {len(found) - len(missing)} translated, {len(missing)} not yet")


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update([Path(a) for a in argv[1:]])
        return 0
    if argv == ["check"]:
        found = problems()
        print("\n".join(found) or "the catalogue is complete")
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
