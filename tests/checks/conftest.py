"""The sanity runs start in the background once collected, and their tests move to the end of the session."""

from __future__ import annotations

import pytest

from sanity_runs import BackgroundSanity

_RUNS = pytest.StashKey[BackgroundSanity]()


def _is_sanity(item: pytest.Item) -> bool:
    return item.originalname == "test_ansible_test_sanity" if isinstance(item, pytest.Function) else False


@pytest.hookimpl(tryfirst=True)  # before the functional tests' hook puts lab_lifecycle tests last
def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    items[:] = [item for item in items if not _is_sanity(item)] + [item for item in items if _is_sanity(item)]


def pytest_collection_finish(session):
    """Start the runs of the sanity tests left after deselection (-k, -m), unless only collecting."""
    sanity = [item for item in session.items if _is_sanity(item)]
    if sanity and not session.config.option.collectonly:
        session.config.stash[_RUNS] = BackgroundSanity([item.callspec.params["release"] for item in sanity])


def pytest_unconfigure(config):
    runs = config.stash.get(_RUNS, None)
    if runs is not None:
        runs.stop()


@pytest.fixture()
def background_sanity(request) -> BackgroundSanity:
    return request.config.stash[_RUNS]
