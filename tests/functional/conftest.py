"""Fixtures for tests against the lab: a real Samba AD DC (and WinRM lab nodes) on loopback."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness import directory, secrets

REPO = Path(__file__).resolve().parents[2]
LAB = [sys.executable, "-m", "winauth_lab"]
LAB_ENV = dict(os.environ, PYTHONPATH=str(REPO / "tests" / "lab"))


def lab_command(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*LAB, *args], capture_output=True, text=True, env=LAB_ENV, check=check, cwd=str(REPO))


def parse_env_lines(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _sep, value = line[len("export "):].partition("=")
            values[name] = shlex.split(value)[0] if value else ""
    return values


@pytest.fixture(scope="session", autouse=True)
def lab() -> dict[str, str]:
    """Bring the lab up once per session (a no-op when it is up) and export its environment."""
    up = lab_command("up", check=False)
    if up.returncode != 0:
        pytest.exit("the lab could not be started:\n%s%s" % (up.stdout, up.stderr), returncode=3)
    env = parse_env_lines(lab_command("env").stdout)
    os.environ.update(env)
    return env


@pytest.fixture()
def token() -> str:
    """A short unique token for naming test objects on the shared lab."""
    return directory.new_token()


@pytest.fixture()
def admin_connection(lab) -> dict[str, object]:
    """Directory connection options for the lab's Administrator (simple bind over LDAPS, CA validated)."""
    return directory.admin_connection(lab)


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    """Run tests that stop, reset or restart the lab last, so the rest share one running lab."""
    items.sort(key=lambda item: 1 if item.get_closest_marker("lab_lifecycle") else 0)


def pytest_sessionfinish(session, exitstatus):  # pylint: disable=unused-argument
    """Fail the session when any known secret appeared in a captured output or a log the lab keeps."""
    leaks = secrets.session_leaks()
    session.config.stash[_LEAKS] = leaks
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # pylint: disable=unused-argument
    leaks = config.stash.get(_LEAKS, None)
    if leaks is None:
        return
    terminalreporter.section("secrets")
    terminalreporter.write_line(secrets.summary())
    for leak in leaks:
        terminalreporter.write_line("LEAK: %s" % leak, red=True)


_LEAKS = pytest.StashKey[list]()
