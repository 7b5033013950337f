"""Helpers of the verification tests: the lab nodes' files and logs, the probe, the audit and the roles.

Evidence comes from independent places: the probe's own result (tokens read on the wire), the
nodes' W3C logs (written by the lab's web endpoint as IIS would), samba-tool for the directory,
and HAProxy's round robin (which node answered, by the X-Served-By header the endpoint sets).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from pathlib import Path

import yaml

from _ansible import run_module, run_playbook
from winauth_lab.iis.config import ConfigEngine
from winauth_lab.iis.scripts import atomic_write

SITES = "system.applicationHost/sites"
POOLS = "system.applicationHost/applicationPools"


class Node:
    """One lab node's files: its configuration (edited through the twin, under the twin's lock) and its web logs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.config = next(Path(p) for p in os.environ["LAB_NODE_CONFIGS"].split() if "/%s/" % name.lower() in p)
        self.directory = self.config.parent
        self.web = self.directory / "web"
        self.offsets: dict[str, int] = {}

    # -- files ---------------------------------------------------------------------------------------
    def lock(self):
        node = self

        class _Lock:
            def __enter__(self):
                self.handle = open(node.directory / ".twin.lock", "a", encoding="utf-8")  # pylint: disable=R1732
                fcntl.flock(self.handle, fcntl.LOCK_EX)
                return self

            def __exit__(self, *exc):
                self.handle.close()
        return _Lock()

    def apply(self, edits: list[dict]) -> None:
        """Configuration edits through the twin's engine, committed as the twin commits them."""
        with self.lock():
            engine = ConfigEngine(self.config.read_bytes())
            engine.apply(edits)
            atomic_write(self.config, engine.doc.to_bytes())

    def add_site(self, site: str, site_id: int, pool: str, host: str) -> None:
        """A site (HTTPS and HTTP bindings for ``host``) whose root application runs in a new pool."""
        self.apply([
            {"op": "add", "section": POOLS, "location": "", "path": [], "item": {"name": pool}},
            {"op": "add", "section": SITES, "location": "", "path": [], "item": {"name": site, "id": site_id}},
            {"op": "add", "section": SITES, "location": "", "path": [{"name": site}],
             "item": {"path": "/", "applicationPool": pool}},
            {"op": "add", "section": SITES, "location": "", "path": [{"name": site}, "bindings"],
             "item": {"protocol": "https", "bindingInformation": "*:443:%s" % host}},
            {"op": "add", "section": SITES, "location": "", "path": [{"name": site}, "bindings"],
             "item": {"protocol": "http", "bindingInformation": "*:80:%s" % host}},
        ])

    def remove_site(self, site: str, pool: str) -> None:
        """Take out what add_site made and the <location> tags of the site, leaving everything else as it is.

        Edits rather than a byte restore: other suites share the node and may have changed other parts.
        """
        with self.lock():
            engine = ConfigEngine(self.config.read_bytes())
            edits = []
            if any(str(s).lower() == site.lower() for s in engine.sites()):
                edits.append({"op": "remove", "section": SITES, "location": "", "path": [], "key": {"name": site}})
            edits.append({"op": "remove", "section": POOLS, "location": "", "path": [], "key": {"name": pool}})
            engine.apply(edits)
            for path, node in engine.locations():
                if path.lower() == site.lower() or path.lower().startswith(site.lower() + "/"):
                    engine.doc.remove(node)
            atomic_write(self.config, engine.doc.to_bytes())

    # -- logs ---------------------------------------------------------------------------------------
    def mark(self) -> None:
        for name in ("u_ex.log", "httperr.log", "events.log", "web.log"):
            path = self.web / name
            self.offsets[name] = path.stat().st_size if path.exists() else 0

    def since(self, name: str) -> list[str]:
        path = self.web / name
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as handle:
            handle.seek(self.offsets.get(name, 0))
            return [line for line in handle.read().splitlines() if line and not line.startswith("#")]

    def w3c(self, host: str) -> list[dict]:
        """W3C log lines for requests to ``host`` since mark(): status, substatus, win32, user."""
        fields = None
        with open(self.web / "u_ex.log", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#Fields:"):
                    fields = line.split()[1:]
        rows = []
        for line in self.since("u_ex.log"):
            values = dict(zip(fields or [], line.split()))
            if values.get("cs-host", "").split(":")[0].lower() == host.lower():
                rows.append({"status": "%s.%s" % (values["sc-status"], values["sc-substatus"]),
                             "win32": int(values["sc-win32-status"]), "user": values["cs-username"],
                             "s_ip": values["s-ip"]})
        return rows

    def details(self) -> list[dict]:
        return [json.loads(line) for line in self.since("web.log")]


def ad_connection() -> dict:
    return {"server": os.environ["LAB_DC_HOSTNAME"], "auth": "simple", "tls": "ldaps",
            "username": "Administrator@%s" % os.environ["LAB_DNS_DOMAIN"],
            "password": os.environ["LAB_ADMIN_PASSWORD"], "ca_cert": os.environ["LAB_CA_CERT"]}


def probe(url: str, **options) -> dict:
    """negotiate_probe as a play runs it (on the controller), as the lab's browser user alice."""
    args = {"url": url, "username": "alice@%s" % os.environ["LAB_REALM"], "password": "Alice-Pa55!",
            "ca_path": os.environ["LAB_CA_CERT"], "fail_on_mismatch": False}
    args.update(options)
    result = run_module("webfarm.winauth.negotiate_probe", args, timeout=120)
    assert "attempts" in result, result.output[-3000:]
    return result


def _dc() -> list[str]:
    """Talk to the running DC over LDAP: its KDC does not see writes made to its database files behind its back."""
    return ["-H", "ldap://%s" % os.environ["LAB_DC_HOSTNAME"],
            "-U", "%s%%%s" % (os.environ["LAB_ADMIN_USER"], os.environ["LAB_ADMIN_PASSWORD"])]


def spn_holders(spn: str) -> list[str]:
    """sAMAccountNames holding an SPN, read with ldbsearch (independent of the collection)."""
    out = subprocess.run(["ldbsearch", *_dc(), "-b", os.environ["LAB_DOMAIN_DN"],
                          "(servicePrincipalName=%s)" % spn, "sAMAccountName"], capture_output=True, text=True,
                         check=True).stdout
    return [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("sAMAccountName: ")]


def samba_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["samba-tool", *args, *_dc()], capture_output=True, text=True, check=False)


def move_spn(spn: str, to: str) -> None:
    """Put ``spn`` on ``to`` only, behind the collection's back (samba-tool)."""
    for holder in spn_holders(spn):
        assert samba_tool("spn", "delete", spn, holder).returncode == 0
    result = samba_tool("spn", "add", spn, to)
    assert result.returncode == 0, result.stdout + result.stderr


def playbook(tmp_path: Path, name: str, plays: list, extra_vars: dict | None = None,
             timeout: float = 600) -> subprocess.CompletedProcess:
    path = tmp_path / ("%s.yml" % name)
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    args = ["-i", os.environ["LAB_INVENTORY"]]
    if extra_vars:
        vars_path = tmp_path / ("%s-vars.json" % name)
        vars_path.write_text(json.dumps(extra_vars))
        os.chmod(vars_path, 0o600)
        args += ["-e", "@%s" % vars_path]
    return run_playbook(path, *args, timeout=timeout)


def audit(tmp_path: Path, hosts: str, farm: dict, roles: dict | None = None, report: bool = False) -> dict:
    """farm_audit's node pass on ``hosts`` and its farm pass; the farm pass's result."""
    out = tmp_path / ("audit-%d.json" % time.monotonic_ns())
    farm_task = {"name": "farm pass", "webfarm.winauth.farm_audit": {
        "farm": "{{ farm }}", "nodes": "{{ ansible_play_hosts | map('extract', hostvars, 'node_audit') | list }}"},
        "run_once": True, "register": "farm_result"}
    if report:
        farm_task["webfarm.winauth.farm_audit"]["report_dir"] = str(tmp_path / "report")
    plays = [{
        "hosts": hosts, "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": ad_connection()},
        "vars": {"farm": farm, "roles_of": roles or {}},
        "tasks": [
            {"name": "node pass", "webfarm.winauth.farm_audit": {
                "farm": "{{ farm }}", "role": "{{ roles_of[inventory_hostname] | default('node') }}"},
             "register": "node_audit"},
            farm_task,
            {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ farm_result | to_json }}",
                                                                 "dest": str(out), "mode": "0600"},
             "delegate_to": "localhost", "run_once": True,
             "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
        ]}]
    proc = playbook(tmp_path, "audit", plays)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def ids(findings: list[dict], severity: str | None = None) -> set[tuple[str, str | None]]:
    return {(f["id"], f["node"]) for f in findings if severity is None or f["severity"] == severity}
