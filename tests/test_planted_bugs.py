"""The planted-bug table of issue 36 (benchmarks/planted_bugs.py) still applies to today's source: each
planted edit's "before" text occurs exactly once in its file, so a moved rule makes this test fail instead
of the table silently planting nothing. (Running the table itself takes minutes: not in CI.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import planted_bugs

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("bug", planted_bugs.BUGS, ids=lambda b: b.name)
def test_each_planted_edit_applies_once_and_changes_the_code(bug):
    source = (PROJECT_ROOT / bug.path).read_text(encoding="utf-8")
    assert source.count(bug.before) == 1, f"{bug.name}: the rule moved; update benchmarks/planted_bugs.py"
    planted = planted_bugs.plant(bug, source)
    assert planted != source
    compile(planted, bug.path, "exec")  # the planted bug is a wrong rule, not a syntax error
    for test in bug.tests:
        assert (PROJECT_ROOT / test.split("::")[0]).is_file(), test


def test_the_table_names_each_issue_36_bug_once():
    assert len(planted_bugs.BUGS) == 9
    assert len({b.name for b in planted_bugs.BUGS}) == 9


def test_planting_refuses_text_that_is_missing_or_repeated():
    bug = planted_bugs.BUGS[0]
    with pytest.raises(ValueError, match="0 times"):
        planted_bugs.plant(bug, "nothing here")
    with pytest.raises(ValueError, match="2 times"):
        planted_bugs.plant(bug, bug.before + "\n" + bug.before)


def test_the_first_failing_test_is_read_from_pytests_summary():
    output = "...F\n=== short test summary info ===\nFAILED tests/test_a.py::test_b[x] - assert 1 == 2\n"
    assert planted_bugs.first_failure(output) == "tests/test_a.py::test_b[x]"
