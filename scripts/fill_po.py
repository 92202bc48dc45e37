"""Fill empty msgstr entries of a .po file from a JSON map {msgid: msgstr}; report what is left.

Usage: python scripts/fill_po.py locale/zh_Hans/LC_MESSAGES/django.po translations.json
Only single-line msgids produced with ``makemessages --no-wrap`` are handled (that is how ours are).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ENTRY = re.compile(r'^msgid "(?P<id>(?:[^"\\]|\\.)+)"\nmsgstr ""\n', re.MULTILINE)


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main(po_path: str, json_path: str) -> int:
    po = Path(po_path)
    table = json.loads(Path(json_path).read_text(encoding="utf-8"))
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        msgid = match.group("id")
        key = msgid.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        if key in table:
            return f'msgid "{msgid}"\nmsgstr "{escape(table[key])}"\n'
        missing.append(key)
        return match.group(0)

    po.write_text(ENTRY.sub(fill, po.read_text(encoding="utf-8")), encoding="utf-8")
    for key in missing:
        print(f"untranslated: {key}")  # noqa: T201
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
