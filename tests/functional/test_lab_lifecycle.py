"""The lab's own promises: idempotent lab-up, fast lab-reset to the seeded state, clean lab-down.

These stop or reset the shared lab, so they are marked to run after every other test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import pytest

from conftest import LAB, LAB_ENV, REPO, lab_command, parse_env_lines
from winauth_lab.dc import _pid_alive

DC_PORTS = (88, 389, 445, 636, 3268, 3269)
pytestmark = pytest.mark.lab_lifecycle


def _listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.3):
            return True
    except OSError:
        return False


def _status() -> dict:
    return json.loads(lab_command("status", check=False).stdout)


def test_second_lab_up_is_a_no_op(lab) -> None:
    before = _status()
    again = lab_command("up")
    assert "already up" in again.stdout and "nothing to do" in again.stdout
    assert _status()["dc"]["pid"] == before["dc"]["pid"]


def test_lab_env_describes_the_running_lab(lab) -> None:
    env = parse_env_lines(lab_command("env").stdout)
    for name in ("LAB_DC", "LAB_REALM", "LAB_DOMAIN_DN", "LAB_ADMIN_USER", "LAB_ADMIN_PASSWORD", "KRB5_CONFIG"):
        assert env.get(name), name
    assert env["LAB_REALM"] == "CAMTEST.LOCAL"
    assert env["LAB_DOMAIN_DN"] == "DC=camtest,DC=local"


def test_reset_returns_the_directory_to_the_seeded_state_quickly(lab, token) -> None:
    ou = "OU=Reset-%s,%s" % (token, lab["LAB_DOMAIN_DN"])
    subprocess.run(["ldbadd", "-H", lab["LAB_SAM_LDB"]], input="dn: %s\nobjectClass: organizationalUnit\n" % ou,
                   text=True, check=True, capture_output=True)
    started = time.monotonic()
    lab_command("reset")
    elapsed = time.monotonic() - started
    assert elapsed < 10, "lab-reset took %.1fs" % elapsed
    found = subprocess.run(["ldbsearch", "-H", lab["LAB_SAM_LDB"], "-b", ou, "-s", "base", "dn"], capture_output=True,
                           text=True, check=False)
    assert "# returned 0 records" in found.stdout or found.returncode != 0
    # And the KDC answers again.
    out = subprocess.run(["kinit", "alice@%s" % lab["LAB_REALM"]], input="Alice-Pa55!\n", text=True,
                         capture_output=True, check=False, env=dict(os.environ, KRB5CCNAME="MEMORY:lab-reset"))
    assert out.returncode == 0, out.stderr


def test_down_leaves_nothing_listening_and_up_restores(lab) -> None:
    pid = _status()["dc"]["pid"]
    try:
        lab_command("down")
        assert not any(_listening(lab["LAB_DC"], port) for port in DC_PORTS)
        # Gone, or at most a zombie waiting for a parent that is not ours to reap it.
        assert not _pid_alive(pid), "samba (pid %d) still runs after lab down" % pid
    finally:
        lab_command("up")
    assert all(_listening(lab["LAB_DC"], port) for port in DC_PORTS)


def test_up_from_an_empty_lab_directory(lab, tmp_path) -> None:
    """A new user's first lab-up: nothing under the lab directory that an earlier run left behind."""
    fresh = tmp_path / "lab"
    env = dict(LAB_ENV, LAB_DIR=str(fresh))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*LAB, *args], capture_output=True, text=True, env=env, cwd=str(REPO), check=False,
                              timeout=600)

    lab_command("down")
    try:
        up = run("up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "provisioning CAMTEST.LOCAL" in up.stdout, up.stdout
        status = run("status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert json.loads(status.stdout)["lab_dir"] == str(fresh.resolve())
        new_env = parse_env_lines(run("env").stdout)
        ticket = subprocess.run(["kinit", "alice@%s" % new_env["LAB_REALM"]], input="Alice-Pa55!\n", text=True,
                                capture_output=True, check=False,
                                env=dict(os.environ, KRB5_CONFIG=new_env["KRB5_CONFIG"], KRB5CCNAME="MEMORY:fresh"))
        assert ticket.returncode == 0, ticket.stderr
    finally:
        down = run("down")
        lab_command("up")
    assert down.returncode == 0, down.stdout + down.stderr
    assert _status()["dc"]["running"]
