"""The library suites side by side, from their junit XML (``<results>/<suite>-<mode>.xml``):

    rq: ours 650/700, plain redis 690/700 (94.2% of what plain passes)

then, per suite, the tests that pass on plain redis but not on ours, grouped by reason (the
failure's first line with numbers, ids and addresses blanked), and the full list.

Run: ``python tests/library_suites/summary.py target/library-suites/results rq python-redis-lock``.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

# Blanked in a reason so that one cause is one group: quoted names (keys, job ids), addresses,
# hex and decimal numbers.
_VARIABLE = re.compile(r"'[^']*'|0x[0-9a-f]+|\b[0-9a-f]{32}\b|[0-9a-f-]{36}|\d+(\.\d+)?")


def _group(reason):
    """A failure's reason without what varies from test to test (junit cuts messages at
    different lengths, so only the start counts)."""
    reason = _VARIABLE.sub("_", reason)
    reason = re.sub(r"(_ on node__(, )?)+", "<keys on their nodes> ", reason)
    reason = re.sub(r"node__(, node__)*", "<nodes>", reason)
    return reason[:110]


def outcomes(junit):
    """``{test id: (outcome, first line of the failure)}``; outcome passed, failed or skipped."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        outcome, reason = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                message = child.get("message") or (child.text or "").strip()
                reason = (message.strip().splitlines() or [child.tag])[0][:200]
                break
            if child.tag == "skipped":
                outcome = "skipped"
        found[test] = (outcome, reason)
    return found


def passed(results):
    return sum(1 for outcome, _ in results.values() if outcome == "passed")


def report(results_dir, suite):
    plain = outcomes(results_dir / f"{suite}-plain.xml")
    ours = outcomes(results_dir / f"{suite}-ours.xml")
    total = len(plain)
    passes_plain = {t for t, (o, _) in plain.items() if o == "passed"}
    regressions = sorted(t for t in passes_plain if ours.get(t, ("missing", ""))[0] != "passed")
    kept = len(passes_plain) - len(regressions)
    share = 100 * kept / len(passes_plain) if passes_plain else 0
    print(
        f"{suite}: ours {passed(ours)}/{total}, plain redis {len(passes_plain)}/{total} "
        f"(ours passes {kept} of the {len(passes_plain)} plain passes: {share:.1f}%)"
    )
    groups = defaultdict(list)
    for test in regressions:
        outcome, reason = ours.get(test, ("missing", "not run on ours"))
        key = _group(reason) if outcome == "failed" else f"({outcome} on ours)"
        groups[key].append(test)
    for reason, tests in sorted(groups.items(), key=lambda item: -len(item[1])):
        print(f"  {len(tests):4d}  {reason}")
    for test in regressions:
        print(f"    passes on plain, not on ours: {test}")
    return kept, len(passes_plain)


def main():
    results_dir = Path(sys.argv[1])
    for suite in sys.argv[2:]:
        report(results_dir, suite)


if __name__ == "__main__":
    main()
