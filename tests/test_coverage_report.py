"""The README's coverage table is the one ``python -m minigrad.coverage --markdown`` prints today."""

import pathlib

from minigrad import coverage


def test_readme_shows_the_current_coverage_table():
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = coverage.markdown(coverage.report())
    assert table in readme, "README's torch-coverage table is stale: paste `python -m minigrad.coverage --markdown`"


def test_every_teaching_name_is_checked_somewhere():
    rows = coverage.report()
    assert [where for where, _, _ in rows] == ["torch", "Tensor", "nn", "nn.functional"]
    assert all(len(names) == len(set(names)) for _, names, _ in rows), "a name is listed twice"
