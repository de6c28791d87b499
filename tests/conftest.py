"""Fixtures shared by every test package.

The Korean fiction corpus lives outside the repository (the project ships no third-party
text); RELAY_CORPUS_DIR points at it when it is not beside the checkout.
"""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_CANDIDATES = [
    os.environ.get("RELAY_CORPUS_DIR"),
    REPO_ROOT.parent / "shared" / "corpus",
    "/work/shared/corpus",
]


def find_corpus() -> Path:
    for candidate in CORPUS_CANDIDATES:
        if candidate and (Path(candidate) / "novels").is_dir():
            return Path(candidate)
    raise RuntimeError(
        "The Korean corpus was not found; set RELAY_CORPUS_DIR to the folder holding novels/ "
        "and encodings/ (tried: %s)" % ", ".join(str(c) for c in CORPUS_CANDIDATES if c)
    )


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return find_corpus()


@pytest.fixture(scope="session")
def novels_dir(corpus_dir) -> Path:
    return corpus_dir / "novels"


@pytest.fixture(scope="session")
def encodings_dir(corpus_dir) -> Path:
    return corpus_dir / "encodings"


def services_required() -> bool:
    """CI sets REQUIRE_SERVICES=1: a missing PostgreSQL or Redis then fails instead of skipping."""
    return os.environ.get("REQUIRE_SERVICES") == "1"


def missing_service(reason: str):
    if services_required():
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)
