"""`tl_core.runs.status.Status` is the one spelling of a run's status: no module writes a status as a bare string."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tl_core.runs.status import Status

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("tl_core", "tl_ui", "tl_view", "pages", "app.py", "serve.py")
HOME = ROOT / "tl_core" / "runs" / "status.py"
VALUES = frozenset(s.value for s in Status)
NOT_STATUSES = {("tl_core/feasibility/recommend.py", "unknown")}  # a similarity that was not measured


def bare_statuses(source: str) -> list[tuple[int, str]]:
    """(line, value) for each string literal that spells a status; a dict key that happens to be one (a table
    column named "failed") is not a status."""
    tree = ast.parse(source)
    keys = {id(k) for node in ast.walk(tree) if isinstance(node, ast.Dict) for k in node.keys if k is not None}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in VALUES and id(node) not in keys]


@pytest.mark.parametrize("source", [
    'if summary["status"] == "finished": pass',
    'rows = store.list(status="finished")',
    'summary.update(status="failed")',
    'status = Status.of(summary.get("status", "queued"))',
])
def test_the_check_sees_a_status_spelt_as_a_string(source):
    assert bare_statuses(source)


def test_the_check_leaves_the_enum_and_table_columns_alone():
    assert not bare_statuses('x = Status.FINISHED\nrow = {"failed": 2, "folds": 3}\n"""Runs that finished."""')


def test_no_status_is_spelt_as_a_string_outside_the_status_module():
    offences = []
    for name in SCANNED:
        for path in sorted((ROOT / name).rglob("*.py")) if (ROOT / name).is_dir() else [ROOT / name]:
            if path != HOME:
                where = str(path.relative_to(ROOT))
                offences += [f"{where}:{line} '{value}'" for line, value in bare_statuses(path.read_text())
                             if (where, value) not in NOT_STATUSES]
    assert not offences, "Use tl_core.runs.status.Status:\n" + "\n".join(offences)
