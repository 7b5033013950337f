"""The roles' molecule scenarios (extensions/molecule/<name>), each run as `molecule test -s <name>`.

Each scenario runs against the shared lab: create is `make lab-up` (a no-op when the lab runs), the
check step runs the converge playbook with --check on a fresh site, pool, name and GPO of the run's
own, side_effect proves that it wrote nothing, converge and idempotence follow, and verify checks
the result with samba-tool, SYSVOL, kinit/kvno and the nodes' applicationHost.config. destroy never
stops the lab here (MOLECULE_LAB_DOWN is not set), so the rest of `make test` keeps it.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from harness.ansible import REPO, VENV_BIN, ansible_env
from harness.directory import samba_tool

SCENARIOS = sorted(p.parent.name for p in (REPO / "extensions" / "molecule").glob("*/molecule.yml"))
STEPS = ("syntax", "create", "prepare", "check", "side_effect", "converge", "idempotence", "verify", "cleanup",
         "destroy")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_every_role_has_a_scenario() -> None:
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").exists())
    assert roles and set(roles) <= set(SCENARIOS), (roles, SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    env = ansible_env({"PY_COLORS": "0", "NO_COLOR": "1"})
    env.pop("MOLECULE_LAB_DOWN", None)
    started = time.monotonic()
    proc = subprocess.run([str(VENV_BIN / "molecule"), "test", "-s", scenario], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=1500, check=False)
    output = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, "molecule test -s %s failed:\n%s" % (scenario, output[-15000:])
    for step in STEPS:   # molecule writes "scenario ➜ step" in colour and "scenario > step" without
        assert re.search(r"%s (?:➜|>) %s: Executed: Successful" % (re.escape(scenario), step), output), (
            "step %s did not run successfully:\n%s" % (step, output[-6000:]))
    # verify compared the check run's predictions with the converge (and found the second converge empty);
    # molecule frames and wraps Ansible's output, so compare it with the frame and line breaks removed
    flat = re.sub(r"\s+", " ", re.sub(r"[│┌└─]", " ", output))
    assert re.search(r"check predicted all \d+ changes of the converge run, and nothing else; the second converge "
                     r"changed nothing \(recorded\)", flat), output[-6000:]
    print("molecule test -s %s: %.0f s" % (scenario, time.monotonic() - started))


def test_scenarios_leave_nothing_behind() -> None:
    """No site, pool, SPN or GPO of a scenario run is left on the shared lab (all are named after a run token)."""
    configs = (REPO / "build" / "lab" / "nodes").glob("*/applicationHost.config")
    leftovers = [str(p) for p in configs if re.search(r'"mol-m[a-z0-9]{6}"', p.read_text())]
    assert not leftovers, leftovers
    gpos = samba_tool("gpo", "listall", check=False, database=True).stdout
    assert "Default Domain Policy" in gpos
    assert not re.search(r"display name : IIS-BatchLogon-m[a-z0-9]{6}\b", gpos), gpos
    for account in ("cam-svc", "user1"):
        spns = samba_tool("spn", "list", account, check=False, database=True).stdout
        assert account in spns
        assert not re.search(r"HTTP/(sso|portal|content[12])-m[a-z0-9]{6}", spns), spns
