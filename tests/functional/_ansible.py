"""Run real Ansible (ad-hoc modules and playbooks) from the tests, the way users do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS_PATH = REPO / "build" / "collections"


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "PATH": "%s:%s" % (VENV_BIN, env.get("PATH", "")),
    })
    if extra:
        env.update(extra)
    return env


class ModuleResult(dict):
    """The JSON a module returned, plus the raw process output."""

    rc: int
    output: str

    @property
    def failed(self) -> bool:
        return bool(self.get("failed")) or self.rc != 0


def run_module(module: str, args: dict, *, check: bool = False, diff: bool = False, verbosity: int = 0,
               env: dict[str, str] | None = None, timeout: float = 120) -> ModuleResult:
    """Run ``ansible localhost -m <module>`` with JSON args; return the module's result."""
    argv = [str(VENV_BIN / "ansible"), "localhost", "-m", module,
            "-e", "ansible_python_interpreter=%s" % sys.executable, "-o"]
    if args:
        argv += ["-a", json.dumps(args)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if verbosity:
        argv.append("-" + "v" * verbosity)
    proc = subprocess.run(argv, capture_output=True, text=True, env=ansible_env(env), timeout=timeout, check=False,
                          cwd=str(REPO))
    output = proc.stdout + proc.stderr
    result = ModuleResult(_parse_oneline(proc.stdout))
    result.rc = proc.returncode
    result.output = output
    return result


def _parse_oneline(stdout: str) -> dict:
    for line in stdout.splitlines():
        if line.startswith("localhost | ") and "=>" in line:
            payload = line.split("=>", 1)[1].strip()
            try:
                return json.loads(payload)
            except json.JSONDecodeError:
                return {"unparsed": payload}
    return {}


def run_playbook(playbook: Path | str, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 600) -> subprocess.CompletedProcess:
    argv = [str(VENV_BIN / "ansible-playbook"), str(playbook), *args]
    return subprocess.run(argv, capture_output=True, text=True, env=ansible_env(env), timeout=timeout, check=False,
                          cwd=str(REPO))
