#!/usr/bin/env bash
# docs/EVENTS.md against the code: its table of subjects, protobuf types and directions is the
# catalogue the broker checks publishes against (common/catalogue.c), row for row, and every
# subject it names as an addition is in that table. Needs only the repository and python3.
set -uo pipefail
cd "${TRIVSEL_REPO:-$(dirname "$0")/../..}" || exit 1
exec python3 - <<'PYTHON'
import re

code = {}
src = open("common/catalogue.c", encoding="utf-8").read()
for m in re.finditer(r'\{"([a-z_.*]+)", "([A-Za-z.]+)",\s*&\w+, (IN|OUT), (?:CVR|ONE)\}', src):
    code[m.group(1)] = (m.group(2), m.group(3).lower())

doc = {}
additions = []
section = None
for line in open("docs/EVENTS.md", encoding="utf-8"):
    if line.startswith("## "):
        section = line.strip()
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if not line.startswith("| `"):
        continue
    subject = cells[0].strip("`")
    if section is None:
        doc[subject] = (cells[1].strip("`"), cells[2])
    else:
        additions.append(subject)

def report(ok, what, why=""):
    print(("ok - " if ok else "not ok - ") + what)
    if not ok and why:
        print("#   " + why)

report(len(code) >= 40, "common/catalogue.c's table is read (%d subjects)" % len(code))
missing = sorted(set(code) - set(doc))
report(not missing, "every subject of the code is in docs/EVENTS.md", "missing: " + ", ".join(missing))
extra = sorted(set(doc) - set(code))
report(not extra, "docs/EVENTS.md names no subject the code does not know", "unknown: " + ", ".join(extra))
wrong = sorted(s for s in set(doc) & set(code) if doc[s] != code[s])
report(not wrong, "each subject's type and direction in docs/EVENTS.md are the code's",
       "; ".join("%s: docs %s, code %s" % (s, doc[s], code[s]) for s in wrong))
report(len(additions) > 0 and all(s in code for s in additions),
       "the additions to the design catalogue are subjects of the code",
       "additions: " + ", ".join(additions))
PYTHON
