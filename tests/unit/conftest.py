"""Fixtures for unit tests (no lab needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def reference_dir() -> Path:
    """Microsoft's and others' real files (IIS schema, real applicationHost.config files), beside the repository.

    They are not ours and never copied into the repository; tests that read them skip when they are absent.
    """
    return Path(os.environ.get("WINAUTH_REFERENCE_DIR", REPO.parent / "shared" / "reference"))


@pytest.fixture()
def reference() -> Path:
    path = reference_dir()
    if not path.is_dir():
        pytest.skip("reference files not available (set WINAUTH_REFERENCE_DIR)")
    return path
