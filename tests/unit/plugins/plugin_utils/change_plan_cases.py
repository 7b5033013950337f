"""Task results for the change plan's unit tests: the action plugins' results of change_plan_results.json as the
callback observes them, an lb_farm --check run of two nodes, and the record of its real run."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import document
from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan.results import Observation, keep

RESULTS = json.loads((Path(__file__).parent / "change_plan_results.json").read_text(encoding="utf-8"))
LB = "webfarm.winauth.lb_farm"


def result(name: str, **changes) -> dict:
    return dict(copy.deepcopy(RESULTS[name]), **changes)


def obs(host: str, task: str, action: str, res: dict, *, status: str = "", role: str = LB,
        delegated: bool = False, handler: bool = False, secrets: tuple[str, ...] = ()) -> Observation:
    action = action if "." in action else "webfarm.winauth." + action
    return Observation(host, task, action, role, status or ("changed" if res.get("changed") else "ok"), handler,
                       delegated, keep(action, res, secrets))


def lb_plan(server2: str = "web_auth_check") -> list[Observation]:
    """An lb_farm --check run: the directory once (delegated), then two nodes, the pool restart handler, a summary."""
    run = [obs("SERVER1", "Directory | Look up who holds the farm's names", "spn_info", result("spn_info"),
               delegated=True),
           obs("SERVER1", "Directory | Check that the virtual name is no computer's own name", "ansible.builtin.assert",
               {"changed": False, "msg": "All assertions passed"}, delegated=True),
           obs("SERVER1", "Directory | Register the farm's HTTP SPNs", "spn", result("spn_move"), delegated=True),
           obs("SERVER1", "Directory | Create the batch-logon GPO", "gpo", result("gpo_create_check"), delegated=True),
           obs("SERVER1", "Directory | Grant \"Log on as a batch job\" in the GPO", "ansible.builtin.debug",
               {"changed": True, "msg": "Check mode: GPO IIS-BatchLogon-GPO would be created, then SeBatchLogonRight "
                                        "defined in it for CAMTEST\\cam-svc."}, delegated=True)]
    for host, auth in (("SERVER1", "web_auth_check"), ("SERVER2", server2)):
        run += [obs(host, "Node | Read which applications the pool serves", "app_pool", result("app_pool_read")),
                obs(host, "Node | Windows authentication on the site, anonymous off", "web_auth", result(auth)),
                obs(host, "Node | Run the application pool as the shared account", "app_pool",
                    result("app_pool_check")),
                obs(host, "Node | Read who holds \"Log on as a batch job\" on the node", "policy_refresh",
                    result("policy_read_missing"))]
    for host in ("SERVER1", "SERVER2"):
        run += [obs(host, "Restart the farm's application pool", "app_pool", result("app_pool_restart_check"),
                    handler=True),
                obs(host, "Summary | Change record for this node", "ansible.builtin.debug",
                    {"changed": False, "msg": ["webfarm.winauth.lb_farm on %s" % host,
                                               "Farm name: sso.camtest.local"]})]
    return run


META = {"id": "plan-1", "name": "lb_farm", "created": "2026-01-01T00:00:00Z", "mode": {"check": True, "diff": True},
        "inputs": {"hosts": ["SERVER1", "SERVER2"], "fingerprint": "sha256:aa"}}


def record_of(observations: list[Observation], fingerprint: str = "sha256:aa") -> dict:
    real = []
    for o in observations:       # a real run reports what it did under the same task names
        o = copy.deepcopy(o)
        if o.action == "webfarm.winauth.gpo":
            o.result = dict(o.result, guid="{5F2E8A1C-3D4B-4C6E-9A7F-0B1C2D3E4F50}")
        if o.task.startswith("Directory | Grant"):
            o = Observation(o.host, o.task, "webfarm.winauth.gpo_user_rights", LB, "changed", False, True,
                            keep("webfarm.winauth.gpo_user_rights", result("rights_change")))
        real.append(o)
    meta = dict(META, id="record-1", mode={"check": False, "diff": True},
                inputs={"hosts": ["SERVER1", "SERVER2"], "fingerprint": fingerprint})
    return document.build("record", real, meta)
