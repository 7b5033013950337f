"""An L4 farm of a test's own on SERVER1 and SERVER2, for the change-plan and rollback tests.

A site and pool ``<prefix>-<token>`` on both nodes, a virtual name and a batch-logon GPO named after
it, and the lb_farm play that builds the farm from them; afterwards the SPNs and the GPO are
removed, the nodes refresh policy (so no later test finds the farm's right still applied) and the
sites go. ``callback_env`` turns on the change_plan callback for one run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import typing as t
from pathlib import Path

import yaml

from .ansible import REPO, run_playbook, write_playbook
from .directory import admin_connection
from .nodes import node_site

NODES = ("SERVER1", "SERVER2")
SEED = yaml.safe_load((REPO / "tests" / "lab" / "seed.yml").read_text(encoding="utf-8"))
POOL_PASSWORD = next(u["password"] for u in SEED["users"] if u["name"] == "cam-svc")


def callback_env(directory: Path, name: str) -> dict[str, str]:
    return {"ANSIBLE_CALLBACKS_ENABLED": "webfarm.winauth.change_plan",
            "WEBFARM_WINAUTH_CHANGE_PLAN_DIR": str(directory), "WEBFARM_WINAUTH_CHANGE_PLAN_NAME": name}


@contextlib.contextmanager
def own_lb_farm(lab: dict[str, str], token: str, tmp_path: Path, prefix: str, port_base: int,
                extra_spns: t.Sequence[str] = ()) -> t.Iterator[dict[str, t.Any]]:
    """The farm's names, its play (``play``) and ``plans`` (a folder for the callback); all removed afterwards.

    ``extra_spns`` are further SPNs a test adds to cam-svc, removed with the farm's own.
    """
    name = "%s-%s" % (prefix, token)
    virtual = "sso-%s.%s" % (name, lab["LAB_DNS_DOMAIN"])
    for node in NODES:
        node_site(node, "add", name, str(port_base + int(token, 16) % 9000), name, virtual)
    gpo = "IIS-BatchLogon-%s" % name
    play = {"name": "the L4 farm", "hosts": "lb_nodes", "gather_facts": False,
            "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
            "roles": [{"role": "webfarm.winauth.lb_farm", "vars": {
                "lb_farm_virtual_name": virtual, "lb_farm_service_account": "%s\\cam-svc" % lab["LAB_NETBIOS"],
                "lb_farm_batch_logon_gpo": gpo, "lb_farm_site": name, "lb_farm_app_pool": name}}]}
    context = {"name": name, "tmp": tmp_path, "virtual": virtual, "gpo": gpo, "plans": tmp_path / "plans",
               "play": write_playbook(tmp_path, "lb", [play])[0]}
    try:
        yield context
    finally:
        cleanup, _args = write_playbook(tmp_path, "cleanup", [
            {"name": "directory", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable},
             "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
             "tasks": [{"webfarm.winauth.spn": {"account": "cam-svc", "state": "absent",
                                                "spns": ["HTTP/%s" % virtual, "HTTP/sso-%s" % name, *extra_spns]}},
                       {"webfarm.winauth.gpo": {"name": gpo, "state": "absent"}}]},
            {"name": "nodes forget the GPO", "hosts": "lb_nodes", "gather_facts": False,
             "tasks": [{"webfarm.winauth.policy_refresh": {"refresh": True}}]}])
        run_playbook(str(cleanup), "-i", os.environ["LAB_INVENTORY"])
        for node in NODES:
            node_site(node, "remove", name, name)
