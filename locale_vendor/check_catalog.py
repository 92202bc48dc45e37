#!/usr/bin/env python3
"""Check the vendored viewflow zh_Hans catalog (standard library only).

Usage: python locale_vendor/check_catalog.py [path/to/django.po ...]

Exits non-zero if any catalog has an untranslated entry (empty msgstr or
msgstr[n]), an entry flagged fuzzy (header included), a header without
``Language: zh_Hans`` / ``Plural-Forms: nplurals=1; plural=0;`` / UTF-8,
a msgstr using a %(name)s or {name} placeholder that its msgid does not
have, or a compiled django.mo next to it that is missing or out of date.
When ``msgfmt`` is installed, ``msgfmt --check --statistics`` must also pass
and report no untranslated or fuzzy message.
"""

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PO = os.path.join(HERE, "zh_Hans", "LC_MESSAGES", "django.po")
KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")\s*$')
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +\-]*\d*(?:\.\d+)?[sdifrxXeEgGcoa%]|\{(\w*)\}")


def parse_po(path):
    """Return a list of entries: dict(flags=set, fields={keyword: text}, line=int)."""
    entries, entry, key = [], None, None

    def flush():
        if entry and entry["fields"]:
            entries.append(entry)

    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line:
                flush()
                entry, key = None, None
                continue
            if entry is None:
                entry = {"flags": set(), "fields": {}, "line": number, "obsolete": False}
            if line.startswith("#~"):
                entry["obsolete"] = True
                continue
            if line.startswith("#,"):
                entry["flags"].update(f.strip() for f in line[2:].split(","))
                continue
            if line.startswith("#"):
                continue
            match = KEYWORD.match(line)
            if match:
                if entry["fields"] and match.group(1) in ("msgctxt", "msgid") and (
                    "msgid" in entry["fields"]
                ):
                    # entries not separated by a blank line
                    flush()
                    entry = {"flags": set(), "fields": {}, "line": number, "obsolete": False}
                key = match.group(1)
                entry["fields"][key] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and key:
                entry["fields"][key] += ast.literal_eval(line)
            else:
                raise ValueError("%s:%d: cannot parse %r" % (path, number, raw))
    flush()
    return [e for e in entries if not e["obsolete"]]


def placeholders(text):
    return {a or "{%s}" % b for a, b in PLACEHOLDER.findall(text) if a or b}


def check_po(path):
    errors = []
    entries = parse_po(path)
    header = [e for e in entries if e["fields"].get("msgid") == "" and "msgctxt" not in e["fields"]]
    if not header:
        errors.append("%s: no header entry" % path)
    else:
        text = header[0]["fields"].get("msgstr", "")
        if "fuzzy" in header[0]["flags"]:
            errors.append("%s: header is marked fuzzy" % path)
        for needle in ("Language: zh_Hans\n", "Plural-Forms: nplurals=1; plural=0;", "charset=UTF-8"):
            if needle not in text:
                errors.append("%s: header lacks %r" % (path, needle.strip()))
    messages = [e for e in entries if e not in header[:1]]
    for e in messages:
        f, where = e["fields"], "%s:%d" % (path, e["line"])
        label = ("[%s] " % f["msgctxt"] if "msgctxt" in f else "") + repr(f.get("msgid"))
        if "fuzzy" in e["flags"]:
            errors.append("%s: fuzzy entry %s" % (where, label))
        strs = {k: v for k, v in f.items() if k.startswith("msgstr")}
        if not strs or any(not v.strip() for v in strs.values()):
            errors.append("%s: untranslated entry %s" % (where, label))
        if "msgid_plural" in f and set(strs) != {"msgstr[0]"}:
            errors.append("%s: nplurals=1 needs exactly msgstr[0] for %s" % (where, label))
        allowed = placeholders(f.get("msgid", "")) | placeholders(f.get("msgid_plural", ""))
        for v in strs.values():
            extra = placeholders(v) - allowed
            if extra:
                errors.append("%s: unknown placeholder(s) %s in %s" % (where, sorted(extra), label))
    errors.extend(check_mo(path, messages))
    errors.extend(check_msgfmt(path))
    return len(messages), errors


def check_mo(po_path, messages):
    mo_path = os.path.splitext(po_path)[0] + ".mo"
    if not os.path.exists(mo_path):
        return ["%s: missing (run msgfmt -o %s %s)" % (mo_path, mo_path, po_path)]
    with open(mo_path, "rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    stale = []
    for e in messages:
        f = e["fields"]
        key = f["msgid"] if "msgctxt" not in f else "%s\x04%s" % (f["msgctxt"], f["msgid"])
        expected = f.get("msgstr", f.get("msgstr[0]"))
        got = catalog.get((key, 0) if "msgid_plural" in f else key)
        if got != expected:
            stale.append(key)
    if stale:
        return ["%s: out of date with %s (%d entries differ, first %r); recompile with msgfmt"
                % (mo_path, po_path, len(stale), stale[0])]
    return []


def check_msgfmt(po_path):
    msgfmt = shutil.which("msgfmt")
    if not msgfmt:
        return []
    proc = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", os.devnull, po_path],
        capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"),
    )
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or "untranslated" in output or "fuzzy" in output:
        return ["%s: msgfmt --check --statistics: %s" % (po_path, output)]
    return []


def main(argv):
    paths = argv[1:] or [DEFAULT_PO]
    failed = False
    for path in paths:
        count, errors = check_po(path)
        for error in errors:
            print(error, file=sys.stderr)
        failed = failed or bool(errors)
        print("%s: %d messages, %s" % (path, count, "FAILED" if errors else "OK"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
