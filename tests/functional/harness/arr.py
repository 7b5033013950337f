"""An ARR farm of a test's own on the lab: a front-end site on ARR1 and a content site on each content node
(named after the test's token), and its removal - the farm, its batch-logon GPO, the sites - afterwards."""

from __future__ import annotations

import subprocess

from harness.directory import admin_connection
from harness.verification import lab_playbook

CONTENT = ("CONTENT1", "CONTENT2")


def add_sites(context: dict, site_id: int) -> None:
    """``context["front"]`` on ARR1 and ``context["content"]`` on the content nodes, each in a pool of its name,
    bound to ``context["public"]``; ``context["nodes"]`` holds the harness Node of each."""
    context["nodes"]["ARR1"].add_site(context["front"], site_id, context["front"], context["public"])
    for name in CONTENT:
        context["nodes"][name].add_site(context["content"], site_id, context["content"], context["public"])


def remove_farm(context: dict) -> subprocess.CompletedProcess:
    """The GPO ``context["gpo"]`` and the farm ``context["farm_name"]`` removed, policy refreshed, the sites taken
    out; the cleanup play's run (the caller asserts it)."""
    cleanup = lab_playbook(context["tmp"], "cleanup", [
        {"hosts": "localhost", "gather_facts": False,
         "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
         "module_defaults": {"group/webfarm.winauth.ad": admin_connection()},
         "tasks": [{"webfarm.winauth.gpo": {"name": context["gpo"], "state": "absent"}}]},
        {"hosts": "arr_frontends", "gather_facts": False,
         "tasks": [{"webfarm.winauth.arr_farm": {"name": context["farm_name"], "state": "absent"}}]},
        {"hosts": "arr_frontends:content_nodes", "gather_facts": False,
         "tasks": [{"webfarm.winauth.policy_refresh": {"refresh": True}}]}])
    context["nodes"]["ARR1"].remove_site(context["front"], context["front"])
    for name in CONTENT:
        context["nodes"][name].remove_site(context["content"], context["content"])
    return cleanup
