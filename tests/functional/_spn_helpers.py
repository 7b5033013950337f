"""Helpers of the SPN, spn_info and delegation tests: run real Ansible, and look at the lab DC with its own tools.

Modules run through ``ansible`` / ``ansible-playbook`` from the venv against localhost,
with a test-only stdout callback (``_spn_callback``) that prints every task result
as one JSON line, diff and warnings included. The directory connection comes from
the ``WINAUTH_AD_*`` environment variables the modules document, so task arguments
hold no secret. What a module did is checked with independent tools: ``ldbsearch``
on the DC's database, ``samba-tool``, ``kinit``/``kvno``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import typing as t
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CALLBACK_DIR = Path(__file__).resolve().parent / "_spn_callback"

ADMIN_PASSWORD_ENV = "LAB_ADMIN_PASSWORD"


def new_token() -> str:
    return uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------- running Ansible

@dataclass
class TaskResult:
    status: str
    result: dict
    output: str = ""

    @property
    def failed(self) -> bool:
        return self.status != "ok" or bool(self.result.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))

    @property
    def warnings(self) -> list[str]:
        return [str(w) for w in self.result.get("warnings") or []]

    def __getitem__(self, key):
        return self.result[key]


def connection_env(lab: dict[str, str], username: str | None = None, password: str | None = None) -> dict[str, str]:
    """The WINAUTH_AD_* variables for a simple bind over LDAPS as the lab's Administrator (or another user)."""
    return {
        "WINAUTH_AD_SERVER": lab["LAB_DC_HOSTNAME"],
        "WINAUTH_AD_AUTH": "simple",
        "WINAUTH_AD_TLS": "ldaps",
        "WINAUTH_AD_CA_CERT": lab["LAB_CA_CERT"],
        "WINAUTH_AD_USERNAME": username or "%s@%s" % (lab["LAB_ADMIN_USER"], lab["LAB_DNS_DOMAIN"]),
        "WINAUTH_AD_PASSWORD": password if password is not None else lab["LAB_ADMIN_PASSWORD"],
    }


def _ansible_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WINAUTH_AD_")}
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build" / "collections"),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
        "ANSIBLE_STDOUT_CALLBACK": "spn_json_lines",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "PATH": "%s:%s" % (VENV_BIN, os.environ.get("PATH", "")),
    })
    env.update(extra)
    return env


def _parse(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def task(module: str, args: dict, *, check: bool = False, diff: bool = False) -> dict:
    """One playbook task; ``check`` and ``diff`` become the task's check_mode and diff keywords."""
    return {module: args, "check_mode": check, "diff": diff, "ignore_errors": True}


def run_tasks(tasks: list[dict], env: dict[str, str], *, verbosity: int = 0) -> list[TaskResult]:
    """Run tasks (see :func:`task`) as one playbook, one Ansible start for all; one result per task, in order."""
    plays = [{"hosts": "localhost", "gather_facts": False,
              "tasks": [dict(one, name="task %d" % index) for index, one in enumerate(tasks)]}]
    with tempfile.TemporaryDirectory(prefix="spn-test-") as tmp:
        playbook = Path(tmp) / "play.yml"
        playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
        argv = [str(VENV_BIN / "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local",
                "-e", "ansible_python_interpreter=%s" % sys.executable]
        if verbosity:
            argv.append("-" + "v" * verbosity)
        proc = subprocess.run(argv, capture_output=True, text=True, env=_ansible_env(env), timeout=300, check=False,
                              cwd=str(REPO))
    output = proc.stdout + proc.stderr
    events = _parse(proc.stdout)
    assert len(events) == len(tasks), "expected %d task results, got:\n%s" % (len(tasks), output[-5000:])
    return [TaskResult(e["status"], e["result"], output) for e in events]


def run_module(module: str, args: dict, env: dict[str, str], *, check: bool = False, diff: bool = False,
               verbosity: int = 0) -> TaskResult:
    """One module run, as ``ansible localhost -m <module>``."""
    argv = [str(VENV_BIN / "ansible"), "localhost", "-m", module, "-a", json.dumps(args),
            "-e", "ansible_python_interpreter=%s" % sys.executable]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if verbosity:
        argv.append("-" + "v" * verbosity)
    proc = subprocess.run(argv, capture_output=True, text=True, env=_ansible_env(env), timeout=300, check=False,
                          cwd=str(REPO))
    events = _parse(proc.stdout)
    assert len(events) == 1, "expected one result, got:\n%s" % (proc.stdout + proc.stderr)[-5000:]
    return TaskResult(events[0]["status"], events[0]["result"], proc.stdout + proc.stderr)


# --------------------------------------------------------------------------- the DC's own tools

def _run(argv: list[str], check: bool = True, input_text: str | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, input=input_text,
                          env=env or dict(os.environ), timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv[:4]), proc.returncode, proc.stdout, proc.stderr))
    return proc


def samba_tool(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["samba-tool", *args, "-H", os.environ["LAB_SAM_LDB"]], check=check)


def ldif(ldb_filter: str, *attrs: str, url: str | None = None) -> str:
    """ldbsearch output (comments dropped) for a filter, straight from the DC's stored data.

    Reads go to the domain partition file itself (what the DC has stored, read without its
    modules, and three times faster than through sam.ldb); writes go through sam.ldb.
    """
    proc = _run(["ldbsearch", "-H", url or os.environ["LAB_DOMAIN_PARTITION"], ldb_filter, *attrs])
    return "\n".join(line for line in proc.stdout.splitlines()
                     if not line.startswith(("#", "ref: ")) and line.strip())


def ldb_values(ldb_filter: str, attr: str) -> list[str]:
    """Values of one attribute of the one object matching the filter (ldbsearch unfolds long lines)."""
    text = ldif(ldb_filter, attr)
    unfolded = text.replace("\n ", "")
    prefix = attr.lower() + ":"
    values = []
    for line in unfolded.splitlines():
        if line.lower().startswith(prefix):
            values.append(line.split(":", 1)[1].strip())
    return values


def spns_of(sam: str) -> list[str]:
    return ldb_values("(sAMAccountName=%s)" % sam, "servicePrincipalName")


# What a logon changes: the KDC records it on the account (and so bumps whenChanged and uSNChanged).
_LOGON_ATTRIBUTES = ("lastlogon:", "lastlogontimestamp:", "logoncount:", "badpwdcount:", "badpasswordtime:",
                     "whenchanged:", "usnchanged:")


def snapshot(*sams: str, strict: bool = True) -> str:
    """Every stored attribute of the accounts, so that any write shows.

    ``strict`` keeps uSNChanged and whenChanged: right for the tests' own accounts, which nobody
    logs on with. Seeded accounts that other engineers' lab nodes log on with take ``strict=False``,
    which drops what a logon changes (every other attribute value is still compared).
    """
    text = ldif("(|%s)" % "".join("(sAMAccountName=%s)" % sam for sam in sams), "*", "uSNChanged", "whenChanged",
                "msDS-AllowedToActOnBehalfOfOtherIdentity")
    assert text.count("\ndn: ") + text.startswith("dn: ") == len(sams), "snapshot: not every account found"
    if strict:
        return text
    return "\n".join(line for line in text.replace("\n ", "").splitlines()
                     if not line.lower().startswith(_LOGON_ATTRIBUTES))


def _unicode_pwd(password: str) -> str:
    return base64.b64encode(('"%s"' % password).encode("utf-16-le")).decode("ascii")


def user_dn(name: str) -> str:
    return "CN=%s,CN=Users,%s" % (name, os.environ["LAB_DOMAIN_DN"])


def computer_dn(name: str) -> str:
    return "CN=%s,CN=Computers,%s" % (name, os.environ["LAB_DOMAIN_DN"])


def _spn_lines(spns: t.Sequence[str]) -> str:
    return "".join("servicePrincipalName: %s\n" % value for value in spns)


def create_user(name: str, password: str, spns: t.Sequence[str] = ()) -> None:
    """A normal, enabled user with a password (so it has Kerberos keys), added through the DC's modules."""
    ldb_add("dn: %s\nobjectClass: user\nsAMAccountName: %s\nuserAccountControl: 512\nunicodePwd:: %s\n%s"
            % (user_dn(name), name, _unicode_pwd(password), _spn_lines(spns)))


def create_computer(name: str, password: str | None = None, spns: t.Sequence[str] = ()) -> None:
    """A computer account NAME$ in CN=Computers, with a password (so it has Kerberos keys)."""
    ldb_add("dn: %s\nobjectClass: computer\nsAMAccountName: %s$\nuserAccountControl: 4096\nunicodePwd:: %s\n%s"
            % (computer_dn(name), name, _unicode_pwd(password or "Computer-%s-Pa55!" % uuid.uuid4().hex),
               _spn_lines(spns)))


def delete_user(name: str) -> None:
    ldb_delete(user_dn(name))


def delete_computer(name: str) -> None:
    ldb_delete(computer_dn(name))


def add_spn(spn: str, sam: str) -> None:
    add_spns(sam, spn)


def add_spns(sam: str, *values: str) -> None:
    """Add SPNs through the DC's database modules (its uniqueness check included), in one ldbmodify."""
    lines = ["dn: %s" % dn_of(sam), "changetype: modify", "add: servicePrincipalName"]
    lines += ["servicePrincipalName: %s" % value for value in values]
    _run(["ldbmodify", "-H", os.environ["LAB_SAM_LDB"]], input_text="\n".join(lines) + "\n")


def remove_spns(values: list[str], sam: str) -> None:
    """Remove values from an account, whatever their case, ignoring the ones not there (one ldbmodify)."""
    wanted = {v.lower() for v in values}
    stored = [v for v in spns_of(sam) if v.lower() in wanted]
    if stored:
        lines = ["dn: %s" % dn_of(sam), "changetype: modify", "delete: servicePrincipalName"]
        lines += ["servicePrincipalName: %s" % value for value in stored]
        _run(["ldbmodify", "-H", os.environ["LAB_SAM_LDB"]], input_text="\n".join(lines) + "\n", check=False)


def partition_modify(ldif_text: str) -> None:
    """ldbmodify straight on the domain partition file: skips the DC's checks (SPN uniqueness among them)."""
    _run(["ldbmodify", "-H", os.environ["LAB_DOMAIN_PARTITION"]], input_text=ldif_text)


def sid_of(sam: str) -> str:
    return ldb_values("(sAMAccountName=%s)" % sam, "objectSid")[0]


def dn_of(sam: str) -> str:
    for line in ldif("(sAMAccountName=%s)" % sam, "dn").replace("\n ", "").splitlines():
        if line.startswith("dn: "):
            return line[4:]
    raise AssertionError("no object with sAMAccountName %s" % sam)


# --------------------------------------------------------------------------- Kerberos

@dataclass
class Kerberos:
    """A private credential cache and the lab's krb5.conf, for kinit/kvno runs."""

    directory: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, directory: Path) -> "Kerberos":
        env = dict(os.environ, KRB5CCNAME="FILE:%s" % (directory / "ccache"))
        return cls(directory, env)

    def kinit(self, principal: str, password: str, forwardable: bool = False) -> None:
        argv = ["kinit", *(["-f"] if forwardable else []), principal]
        _run(argv, input_text=password + "\n", env=self.env)

    def kvno(self, *args: str) -> subprocess.CompletedProcess:
        return _run(["kvno", *args], check=False, env=self.env)

    def export_keytab(self, sam: str) -> Path:
        path = self.directory / ("%s.keytab" % sam.replace("$", "_"))
        _run(["samba-tool", "domain", "exportkeytab", str(path), "--principal=%s" % sam,
              "-s", os.environ["LAB_SMB_CONF"]])
        return path


def ldb_add(ldif_text: str) -> None:
    """ldbadd through the DC's database modules (as the DC itself would add it)."""
    _run(["ldbadd", "-H", os.environ["LAB_SAM_LDB"]], input_text=ldif_text)


def ldb_delete(*dns: str) -> None:
    """Delete objects through the DC's modules, ignoring the ones already gone (one ldbdel per object)."""
    for dn in dns:
        _run(["ldbdel", "-H", os.environ["LAB_SAM_LDB"], dn], check=False)
