"""Fill empty msgstr entries of a .po file from a JSON map {msgid: msgstr}; report what is left.

Usage: python scripts/fill_po.py locale/zh_Hans/LC_MESSAGES/django.po translations.json
Only single-line msgids produced with ``makemessages --no-wrap`` are handled (that is how ours are).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ENTRY = re.compile(
    r'^msgid "(?P<id>(?:[^"\\]|\\.)+)"\n'
    r'(?:msgid_plural "(?P<plural>(?:[^"\\]|\\.)+)"\nmsgstr\[0\] ""\n|msgstr ""\n)',
    re.MULTILINE,
)


FUZZY_MSGSTR = re.compile(r'^msgstr(\[0\])? ".*"\n(?:".*"\n)*', re.MULTILINE)


def unfuzz(block: str) -> str:
    """msgmerge guesses a translation for a new msgid from a similar old one and flags it fuzzy:
    drop the guess so the entry is filled from the reviewed table (or reported as untranslated)."""
    lines = block.split("\n")
    if not any(line.startswith("#,") and "fuzzy" in line for line in lines):
        return block
    kept = []
    for line in lines:
        if line.startswith("#|"):
            continue
        if line.startswith("#,"):
            flags = [f.strip() for f in line[2:].split(",") if f.strip() and f.strip() != "fuzzy"]
            if not flags:
                continue
            line = "#, " + ", ".join(flags)
        kept.append(line)
    text = "\n".join(kept) + "\n"
    return FUZZY_MSGSTR.sub(lambda m: f'msgstr{m.group(1) or ""} ""\n', text).rstrip("\n")


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main(po_path: str, json_path: str) -> int:
    po = Path(po_path)
    table = json.loads(Path(json_path).read_text(encoding="utf-8"))
    missing: list[str] = []

    def unescape(text: str) -> str:
        return text.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")

    def fill(match: re.Match[str]) -> str:
        msgid, plural = match.group("id"), match.group("plural")
        key = unescape(msgid)
        found = table.get(key) or (table.get(unescape(plural)) if plural else None)
        if found is None:
            missing.append(key)
            return match.group(0)
        if plural:
            # Chinese has one plural form: msgstr[0] serves every count.
            return f'msgid "{msgid}"\nmsgid_plural "{plural}"\nmsgstr[0] "{escape(found)}"\n'
        return f'msgid "{msgid}"\nmsgstr "{escape(found)}"\n'

    blocks = po.read_text(encoding="utf-8").split("\n\n")
    # The header (first block) keeps its own flags.
    text = "\n\n".join([blocks[0], *(unfuzz(block) for block in blocks[1:])])
    po.write_text(ENTRY.sub(fill, text), encoding="utf-8")
    for key in missing:
        print(f"untranslated: {key}")  # noqa: T201
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
