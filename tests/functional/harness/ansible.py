"""Run real Ansible from the tests, the way users do: ad-hoc modules, plays of tasks, playbooks.

Every run goes through the venv's ``ansible`` / ``ansible-playbook`` with the working tree as the
installed collection. Task results come from a test-only stdout callback (``callback/``) that
prints each result as one JSON line, diff and warnings included. No run may show the lab
administrator's password in its output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import yaml

from harness import secrets

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS_PATH = REPO / "build" / "collections"
CALLBACK_DIR = Path(__file__).resolve().parent / "callback"
PREFIX = "WINAUTH_RESULT "


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an Ansible run: this checkout's collection, no colour, no retry files."""
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


def _results_env(extra: dict[str, str] | None) -> dict[str, str]:
    """An environment whose stdout is the JSON results callback; WINAUTH_AD_* only from ``extra``."""
    env = {k: v for k, v in ansible_env().items() if not k.startswith("WINAUTH_AD_")}
    env.update({
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
        "ANSIBLE_STDOUT_CALLBACK": "winauth_results",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
    })
    env.update(extra or {})
    return env


class TaskResult(dict):
    """One task's result (the module's return values), with how the task ended and the run's output."""

    def __init__(self, status: str, result: dict, output: str = "", rc: int = 0) -> None:
        super().__init__(result)
        self.status = status
        self.output = output
        self.rc = rc

    @property
    def result(self) -> dict:
        return dict(self)

    @property
    def failed(self) -> bool:
        return self.status != "ok" or bool(self.get("failed")) or bool(self.rc)

    @property
    def changed(self) -> bool:
        return bool(self.get("changed"))

    @property
    def msg(self) -> str:
        return str(self.get("msg", ""))

    @property
    def warnings(self) -> list[str]:
        return [str(w) for w in self.get("warnings") or []]


def failed(result: TaskResult) -> bool:
    return result.failed


def _check_secrets(output: str) -> None:
    password = os.environ.get("LAB_ADMIN_PASSWORD")
    if password and password in output:
        raise AssertionError("the lab administrator's password appeared in Ansible's output")


def _results(proc: subprocess.CompletedProcess) -> list[TaskResult]:
    output = proc.stdout + proc.stderr
    _check_secrets(output)
    secrets.check(output, "the output of %s" % " ".join(str(a) for a in proc.args[:2]))
    events = [json.loads(line[len(PREFIX):]) for line in proc.stdout.splitlines() if line.startswith(PREFIX)]
    return [TaskResult(e["status"], e["result"], output, proc.returncode) for e in events]


def task(module: str, args: dict, *, check: bool = False, diff: bool = False, **keywords: t.Any) -> dict:
    """One playbook task of ``module`` (a short name means webfarm.winauth.<name>); check/diff as task keywords."""
    name = module if "." in module else "webfarm.winauth.%s" % module
    entry: dict[str, t.Any] = {name: args}
    if check:
        entry["check_mode"] = True
    if diff:
        entry["diff"] = True
    entry.update(keywords)
    return entry


def run_flags(check: bool, diff: bool, verbosity: int) -> list[str]:
    """The command-line flags of a run: --check, --diff, -v..."""
    flags = (["--check"] if check else []) + (["--diff"] if diff else [])
    return flags + (["-" + "v" * verbosity] if verbosity else [])


def run_module(module: str, args: dict, env: dict[str, str] | None = None, *, check: bool = False,
               diff: bool = False, verbosity: int = 0, timeout: float = 300) -> TaskResult:
    """One module run, as ``ansible localhost -m <module>``; ``env`` adds to the environment (WINAUTH_AD_*)."""
    argv = [str(VENV_BIN / "ansible"), "localhost", "-m", module, "-e", "ansible_python_interpreter=%s" % sys.executable]
    if args:
        argv += ["-a", json.dumps(args)]
    argv += run_flags(check, diff, verbosity)
    proc = subprocess.run(argv, capture_output=True, text=True, env=_results_env(env), timeout=timeout, check=False,
                          cwd=str(REPO))
    results = _results(proc)
    assert len(results) == 1, "expected one result, got:\n%s" % (proc.stdout + proc.stderr)[-5000:]
    return results[0]


def run_tasks(tasks: list[dict], env: dict[str, str] | None = None, *, connection: dict | None = None,
              check: bool = False, diff: bool = False, verbosity: int = 0, timeout: float = 300) -> list[TaskResult]:
    """Run tasks (see :func:`task`) as one play on localhost, one Ansible start for all; one result per task.

    ``connection`` goes to ``module_defaults`` of the ``group/webfarm.winauth.ad`` action group; every
    task ignores errors, so failures are returned, not raised.
    """
    play: dict[str, t.Any] = {"hosts": "localhost", "gather_facts": False, "connection": "local",
                              "vars": {"ansible_python_interpreter": sys.executable},
                              "tasks": [dict(one, name=one.get("name") or "task %d" % index, ignore_errors=True)
                                        for index, one in enumerate(tasks)]}
    if connection:
        play["module_defaults"] = {"group/webfarm.winauth.ad": connection}
    with tempfile.TemporaryDirectory(prefix="winauth-play-") as tmp:
        playbook = Path(tmp) / "play.yml"
        playbook.write_text(yaml.safe_dump([play], sort_keys=False))
        os.chmod(playbook, 0o600)
        argv = [str(VENV_BIN / "ansible-playbook"), str(playbook), "-i", "localhost,"]
        argv += run_flags(check, diff, verbosity)
        proc = subprocess.run(argv, capture_output=True, text=True, env=_results_env(env), timeout=timeout,
                              check=False, cwd=str(REPO))
    results = _results(proc)
    assert len(results) == len(tasks), "expected %d task results, got %d:\n%s" % (
        len(tasks), len(results), (proc.stdout + proc.stderr)[-5000:])
    return results


def ansible_command(program: str, *args: str, env: dict[str, str] | None = None, action_plugins: Path | None = None,
                    timeout: float = 600) -> subprocess.CompletedProcess:
    """One of the venv's Ansible programs with the default output (what users see); ``action_plugins`` adds
    test-only action plugins."""
    extra = dict(env or {})
    if action_plugins is not None:
        extra["ANSIBLE_ACTION_PLUGINS"] = str(action_plugins)
    proc = subprocess.run([str(VENV_BIN / program), *args], capture_output=True, text=True, env=ansible_env(extra),
                          timeout=timeout, check=False, cwd=str(REPO))
    secrets.check(proc.stdout + proc.stderr, "the output of %s %s" % (program, " ".join(args[:1])))
    return proc


def run_playbook(playbook: Path | str, *args: str, env: dict[str, str] | None = None,
                 action_plugins: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """ansible-playbook with the default output (see :func:`ansible_command`)."""
    return ansible_command("ansible-playbook", str(playbook), *args, env=env, action_plugins=action_plugins,
                           timeout=timeout)


def write_playbook(directory: Path, name: str, plays: list, extra_vars: dict | None = None) -> tuple[Path, list[str]]:
    """A playbook file in ``directory`` and the ``-e @vars`` arguments for its (secret-holding) variables."""
    path = directory / ("%s.yml" % name)
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    args: list[str] = []
    if extra_vars:
        vars_path = directory / ("%s-vars.json" % name)
        vars_path.write_text(json.dumps(extra_vars))
        os.chmod(vars_path, 0o600)
        args = ["-e", "@%s" % vars_path]
    return path, args


def run_on_hosts(directory: Path, hosts: str, tasks: list[dict], *options: str, inventory: str | Path | None = None,
                 action_plugins: Path | None = None, ignore_errors: bool = True, play: dict | None = None,
                 timeout: float = 300) -> tuple[subprocess.CompletedProcess, dict[str, dict[str, dict]]]:
    """Run tasks on ``hosts`` of an inventory (the lab's by default) with the default output.

    Returns the process and, per host, each task's registered result (``register`` as given, else
    r0, r1, ...), written by a last task on the controller. ``play`` adds play keywords
    (module_defaults, vars).
    """
    names = []
    tasks = [dict(one) for one in tasks]
    for index, one in enumerate(tasks):
        one.setdefault("register", "r%d" % index)
        if ignore_errors:
            one.setdefault("ignore_errors", True)
        names.append(one["register"])
    out_dir = Path(tempfile.mkdtemp(prefix="results-", dir=str(directory)))
    collect = {"ansible.builtin.copy": {
        "dest": "%s/{{ inventory_hostname }}.json" % out_dir, "mode": "0600",
        "content": "{{ %s | to_json }}" % ("{" + ", ".join("'%s': %s" % (n, n) for n in names) + "}")},
        "delegate_to": "localhost",
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}
    playbook = out_dir / "play.yml"
    playbook.write_text(yaml.safe_dump([dict({"hosts": hosts, "gather_facts": False, "tasks": tasks + [collect]},
                                             **(play or {}))], sort_keys=False))
    proc = run_playbook(playbook, "-i", str(inventory or os.environ["LAB_INVENTORY"]), *options,
                        action_plugins=action_plugins, timeout=timeout)
    return proc, {path.stem: json.loads(path.read_text()) for path in out_dir.glob("*.json")}
