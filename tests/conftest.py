"""Shared pytest configuration for every test of the webfarm.winauth collection."""

from __future__ import annotations

import os
import time


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # pylint: disable=unused-argument
    """Say how long the whole `make test` took (venv, lab and all), before pytest's own summary line."""
    started = os.environ.get("MAKE_TEST_STARTED")
    if started:
        elapsed = time.time() - float(started)
        terminalreporter.write_line("make test: %dm%02ds in total (set-up, lab and tests)" % divmod(int(elapsed), 60))
