# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.farm_audit (documentation: plugins/modules/farm_audit.py).

Two passes, both read-only:

* **node** (no ``nodes`` option): on each node of the play, one ``iis_config`` read and one
  ``user_rights`` call through the node's own connection give a snapshot of the node; the
  directory is read on the controller with the ``ad`` connection options; the findings that one
  node can show are returned with the snapshot (``node``).
* **farm** (``nodes`` lists the snapshots, or the registered results, of the node pass): no remote
  call; the directory is read once and every rule runs across the nodes (different identities,
  an SPN no node decrypts with); the text report and the picture are written to ``report_dir``.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.webfarm.winauth.plugins.plugin_utils._action import (
    WinauthAction,
    action_failure,
    inventory_host,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.connection import connect
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import (
    AD_CONNECTION_ARGSPEC,
    ConnectionOptions,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput, WinauthError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import RemoteRunner
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.directory import read_directory
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.dns import canonical_names
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import FARM_OPTIONS, ROLES, farm_spec
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.render import (
    ownership,
    render_dot,
    render_text,
    summary,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.rules import audit
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.snapshot import (
    node_snapshot,
    snapshot_targets,
)

OWN_SPEC: dict[str, t.Any] = {
    "farm": {"type": "dict", "required": True, "options": FARM_OPTIONS},
    "role": {"type": "str", "choices": list(ROLES), "default": "node"},
    "computer_name": {"type": "str"},
    "nodes": {"type": "list", "elements": "raw"},
    "report_dir": {"type": "path"},
    "fail_on": {"type": "str", "choices": ["never", "error", "warning"], "default": "never"},
}


def argument_spec() -> dict[str, t.Any]:
    spec = copy.deepcopy(AD_CONNECTION_ARGSPEC)
    spec.update(copy.deepcopy(OWN_SPEC))
    return spec


def _snapshots(nodes: t.Sequence[t.Any]) -> list[dict[str, t.Any]]:
    """Snapshots from ``nodes``: each a snapshot, or a registered result of the node pass (its ``node`` key)."""
    found = []
    for index, item in enumerate(nodes):
        if isinstance(item, dict) and isinstance(item.get("node"), dict):
            item = item["node"]
        if not isinstance(item, dict) or "applications" not in item or "computer" not in item:
            raise InvalidInput("nodes[%d] is not a node snapshot: give the registered results of a farm_audit "
                               "task run on each node (nodes: \"{{ ansible_play_hosts | map('extract', hostvars, "
                               "'node_audit') | list }}\"), or their node values" % index)
        found.append(item)
    if not found:
        raise InvalidInput("nodes is empty: run farm_audit on each node first and pass its results")
    return found


class ActionModule(WinauthAction):
    ARGUMENT_SPEC = argument_spec()

    def act(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        farm = farm_spec(args["farm"])
        farm["canonical_names"] = canonical_names(farm["names"])
        calls = 0
        if args["nodes"] is None:
            host = inventory_host(self, task_vars)
            computer = args["computer_name"] or host.split(".", maxsplit=1)[0].upper()
            runner = RemoteRunner(self)
            try:
                states = runner.read(snapshot_targets(args["role"]))
                rights = runner.user_rights(["SeBatchLogonRight"])
            except WinauthError as exc:
                raise action_failure(exc, remote_calls=runner.calls) from None
            calls = runner.calls
            nodes = [node_snapshot(host, computer, args["role"], states, rights.get("SeBatchLogonRight"))]
            scope = "node"
        else:
            nodes = _snapshots(args["nodes"])
            scope = "farm"
        options = ConnectionOptions.from_params(args)
        try:
            with connect(options) as conn:
                directory = read_directory(conn, farm, nodes)
        except WinauthError as exc:
            raise AnsibleActionFail("farm_audit: reading the directory failed: %s" % exc,
                                    result={"remote_calls": calls, "node": nodes[0] if scope == "node" else None}) \
                from None
        findings = audit(farm, nodes, directory, scope=scope)
        counts = summary(findings)
        text = render_text(farm, nodes, directory, findings)
        result.update(changed=False, findings=findings, summary=counts, report=text,
                      ownership=ownership(farm, nodes, directory), remote_calls=calls)
        if scope == "node":
            result["node"] = nodes[0]
        self.add_warnings(result, options.warnings() + (directory.get("warnings") or []))
        if args["report_dir"]:
            result["files"] = self._write(args["report_dir"], farm, nodes, directory, findings, text,
                                          nodes[0]["host"] if scope == "node" else farm["name"])
        failing = [f for f in findings if f["severity"] == "error" or (args["fail_on"] == "warning"
                                                                       and f["severity"] == "warning")]
        if args["fail_on"] != "never" and failing:
            result["failed"] = True
            result["msg"] = "farm %s: %s" % (farm["name"], "; ".join(
                "[%s] %s%s" % (f["severity"], f["title"], " (%s)" % f["node"] if f["node"] else "") for f in failing))
        else:
            result["msg"] = "farm %s: %d error(s), %d warning(s)" % (farm["name"], counts["error"], counts["warning"])

    @staticmethod
    def _write(directory_path: str, farm: dict[str, t.Any], nodes: list[dict[str, t.Any]],
               directory: dict[str, t.Any], findings: list[dict[str, t.Any]], text: str, stem: str) -> dict[str, t.Any]:
        """The text report, the DOT picture and, when Graphviz's dot is installed, its SVG rendering."""
        os.makedirs(directory_path, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
        files: dict[str, t.Any] = {"text": os.path.join(directory_path, "%s.txt" % safe),
                                   "dot": os.path.join(directory_path, "%s.dot" % safe), "svg": None}
        with open(files["text"], "w", encoding="utf-8") as handle:
            handle.write(text)
        with open(files["dot"], "w", encoding="utf-8") as handle:
            handle.write(render_dot(farm, nodes, directory, findings))
        dot = shutil.which("dot")
        if dot:
            svg = os.path.join(directory_path, "%s.svg" % safe)
            proc = subprocess.run([dot, "-Tsvg", files["dot"], "-o", svg], capture_output=True, text=True,
                                  timeout=60, check=False)
            if proc.returncode == 0:
                files["svg"] = svg
            else:
                files["svg_error"] = (proc.stderr or proc.stdout).strip()[-300:]
        else:
            files["svg_error"] = "Graphviz's dot is not installed on the controller; the DOT file is written"
        return files
