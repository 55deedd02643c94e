"""The per-entry-KG diagnostic (``kgtext align-eval --oracle``) on the fixture copies of the gold sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgtext.evaluation.oracle import LOADERS, oracle_report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "aligners"
    return oracle_report(str(fixtures), tuple(LOADERS)).splitlines()


def _rows(report: list[str], section: str, what: str) -> list[str]:
    start = report.index(f"## {section}")
    end = next((i for i in range(start + 1, len(report)) if report[i].startswith("## ")), len(report))
    return [line for line in report[start:end] if f"| {what} |" in line]


def test_webnlg_scores(report: list[str]) -> None:
    assert _rows(report, "webnlg", "all") == [
        "| kgtext | all | 23 | 21 | 0.870 | 0.762 | 0.812 |",
        "| plain-label baseline | all | 18 | 21 | 0.944 | 0.762 | 0.843 |",
        "| kgtext | all | 13 | 19 | 1.000 | 0.684 | 0.813 |",
        "| plain-label baseline | all | 8 | 19 | 1.000 | 0.421 | 0.593 |",
    ]


def test_rebel_scores(report: list[str]) -> None:
    assert _rows(report, "rebel", "all") == [
        "| kgtext | all | 35 | 37 | 1.000 | 0.946 | 0.972 |",
        "| plain-label baseline | all | 31 | 37 | 1.000 | 0.838 | 0.912 |",
        "| kgtext | all | 14 | 15 | 1.000 | 0.933 | 0.966 |",
        "| plain-label baseline | all | 9 | 15 | 1.000 | 0.600 | 0.750 |",
    ]
    assert _rows(report, "rebel", "source=link") == ["| kgtext | source=link | 31 | 0 | 1.000 | - | - |"] + [
        "| plain-label baseline | source=link | 31 | 0 | 1.000 | - | - |"
    ]


def test_redocred_scores(report: list[str]) -> None:
    assert _rows(report, "redocred", "all") == [
        "| kgtext | all | 66 | 66 | 0.939 | 0.939 | 0.939 |",
        "| plain-label baseline | all | 74 | 66 | 0.865 | 0.970 | 0.914 |",  # aliases too (one baseline)
        "| kgtext | all | 63 | 60 | 0.952 | 1.000 | 0.976 |",
        "| plain-label baseline | all | 70 | 60 | 0.829 | 0.967 | 0.892 |",
    ]


def test_fewrel_scores(report: list[str]) -> None:
    assert _rows(report, "fewrel", "all") == [
        "| kgtext | all | 12 | 12 | 0.917 | 0.917 | 0.917 |",
        "| plain-label baseline | all | 1 | 12 | 1.000 | 0.083 | 0.154 |",
        "| kgtext | all | 6 | 6 | 1.000 | 1.000 | 1.000 |",
        "| plain-label baseline | all | 0 | 6 | - | 0.000 | - |",
    ]
