"""Shared fixtures of the aligner tests: the fixture folder and one blank-English aligner per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgtext.aligners.align import Aligner
from kgtext.aligners.config import AlignerConfig

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "aligners"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def aligner() -> Aligner:
    return Aligner(AlignerConfig())
