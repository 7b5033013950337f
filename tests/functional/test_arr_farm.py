"""webfarm.winauth.arr_farm against the lab's ARR node (ARR1 -> CONTENT1, CONTENT2) through Ansible's winrm connection.

Each test is one playbook run. Between tasks the playbook copies ARR1's applicationHost.config aside,
so the test can compare the file byte for byte around check-mode tasks and read the XML diff of each
change. The node's own log shows which remote calls each task made. ARR1's file is saved before and
restored after every test, byte for byte, since the lab is shared.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from harness.ansible import run_on_hosts
from harness.nodes import NodeLog, node_file

ACTION_PLUGINS = Path(__file__).resolve().parent / "_iis_action_plugins" / "action"
WA = "system.webServer/security/authentication/windowsAuthentication"
C1, C2 = "content1.camtest.local", "content2.camtest.local"
SITE = "Default Web Site"


@pytest.fixture()
def arr1(lab) -> Path:
    """ARR1's applicationHost.config, restored to its bytes after the test."""
    del lab
    config = node_file("LAB_NODE_CONFIGS", "ARR1")
    saved = config.read_bytes()
    yield config
    spare = config.with_name(config.name + ".arr-farm-test")
    spare.write_bytes(saved)
    os.replace(spare, config)


class Run:
    """One playbook on ARR1: tasks by label, snapshots of the config file by label, the node log it caused."""

    def __init__(self, tmp_path: Path, config: Path) -> None:
        self.tmp = tmp_path
        self.config = config
        self.tasks: list[dict] = []
        self.labels: list[str] = []
        self.results: dict[str, dict] = {}
        self.output = ""
        self.log = NodeLog(node_file("LAB_NODE_LOGS", "ARR1"))
        self.records: list[dict] = []

    def task(self, label: str, args: dict, **options) -> None:
        self.tasks.append(dict({"webfarm.winauth.arr_farm": args, "register": label}, **options))
        self.labels.append(label)

    def apply(self, label: str, edits: list[dict]) -> None:
        self.tasks.append({"winauth_iis_apply": {"edits": edits}, "register": label})
        self.labels.append(label)

    def snapshot(self, label: str) -> None:
        copy = {"src": str(self.config), "dest": str(self.tmp / (label + ".config")), "remote_src": True,
                "mode": "0600"}
        self.tasks.append({"ansible.builtin.copy": copy, "delegate_to": "localhost"})

    def text(self, label: str) -> str:
        return (self.tmp / (label + ".config")).read_text(encoding="utf-8")

    def run(self, *options: str) -> "Run":
        self.log.mark()
        out, results = run_on_hosts(self.tmp, "ARR1", self.tasks, *options, action_plugins=ACTION_PLUGINS,
                                    ignore_errors=False)
        self.output = out.stdout[-4000:] + out.stderr[-4000:]
        assert out.returncode == 0, self.output
        self.results = {label: results["ARR1"][label] for label in self.labels}
        self.records = self.log.records()
        return self

    def applies_naming(self, name: str) -> list[dict]:
        """The apply calls (in order) whose edits touch something named ``name``."""
        return [r for r in self.records if r.get("op") == "apply" and name in json.dumps(r.get("edits"))]


def xml_diff(before: str, after: str) -> tuple[list[str], list[str]]:
    """Lines removed and added (stripped), in order."""
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:].strip())
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:].strip())
    return removed, added


def test_create_modify_remove_on_arr1(arr1: Path, token: str, tmp_path: Path) -> None:
    farm = "arr-probe-%s" % token
    rule = "ARR_%s_loadbalance" % farm
    base = {"name": farm, "servers": [{"address": C1}],
            "health_check": {"url": "http://sso.camtest.local/health.htm", "interval": 10, "timeout": 5},
            "client_affinity": True, "rule": {"host_header": "sso.camtest.local"}}
    run = Run(tmp_path, arr1)
    run.apply("windows_on", [{"op": "set", "section": WA, "location": SITE, "path": [], "attribute": "enabled",
                              "value": True}])
    run.snapshot("start")
    run.task("create_check", base, check_mode=True)
    run.snapshot("after_create_check")
    run.task("create", base, diff=True)
    run.snapshot("created")
    run.task("create_again", base)
    two = dict(base, servers=[{"address": C1}, {"address": C2}])
    run.task("add_check", two, check_mode=True)
    run.task("add", two)
    run.snapshot("added")
    run.task("algorithm", dict(two, algorithm="RequestHash", hash_server_variable="REMOTE_ADDR"))
    changed = dict(two, algorithm="RequestHash", hash_server_variable="REMOTE_ADDR",
                   health_check={"url": "https://sso.camtest.local/ping", "interval": 20, "timeout": 5})
    run.task("health", changed, diff=True)
    run.snapshot("modified")
    run.task("ssl", dict(changed, rule={"host_header": "sso.camtest.local", "ssl_offload": False}))
    run.snapshot("ssl")
    last = dict(changed, servers=[{"address": C2}], rule={"host_header": "sso.camtest.local", "ssl_offload": False})
    run.task("remove_server", last)
    run.snapshot("removed_server")
    run.task("unchanged", last)
    run.task("absent_check", {"name": farm, "state": "absent"}, check_mode=True)
    run.snapshot("after_absent_check")
    run.task("absent", {"name": farm, "state": "absent"}, diff=True)
    run.snapshot("absent")
    run.task("absent_again", {"name": farm, "state": "absent"})
    run.run()
    r = run.results

    # check mode: the prediction, one read, not a byte written
    assert r["create_check"]["changed"] is True and r["create_check"]["remote_calls"] == 1
    assert r["create_check"]["changes"] == r["create"]["changes"]
    assert run.text("after_create_check") == run.text("start")
    # create: two calls; the XML diff holds the farm, the wizard's rule, the proxy switch and the front door
    assert r["create"]["changed"] is True and r["create"]["remote_calls"] == 2
    assert r["create"]["rules"] == [rule]
    assert r["create"]["farm"]["servers"] == [{"address": C1, "enabled": True, "weight": 100, "http_port": 80,
                                               "https_port": 443}]
    removed, added = xml_diff(run.text("start"), run.text("created"))
    # an earlier farm's removal (a test of its own, a user's) leaves the proxy switch and an empty
    # <rewrite><globalRules> behind, as the absent step below shows: only what the start lacks is added
    proxy_was_on = '<proxy enabled="true" />' in run.text("start")
    proxy_was_off = '<proxy enabled="false" />' in run.text("start")     # switched off by an earlier removal
    rules_element = "<globalRules>" in run.text("start")
    assert sorted(removed) == sorted(['<windowsAuthentication enabled="true" />'] +
                                     (['<proxy enabled="false" />'] if proxy_was_off else []))
    expected = ['<windowsAuthentication enabled="false" />',
                '<rule name="%s" patternSyntax="Wildcard" stopProcessing="true">' % rule, '<match url="*" />',
                "<conditions>", '<add input="{HTTP_HOST}" pattern="sso.camtest.local" />', "</conditions>",
                '<action type="Rewrite" url="http://%s/{R:0}" />' % farm, "</rule>",
                '<webFarm name="%s">' % farm, '<server address="%s" />' % C1, "<applicationRequestRouting>",
                '<healthCheck url="http://sso.camtest.local/health.htm" interval="00:00:10" timeout="00:00:05" />',
                '<affinity useCookie="true" />', "</applicationRequestRouting>", "</webFarm>"]
    if not rules_element:
        expected += ["<rewrite>", "<globalRules>", "</globalRules>", "</rewrite>"]
    if not proxy_was_on:
        expected.append('<proxy enabled="true" />')
    assert sorted(added) == sorted(expected)
    assert "[%s @ %s]\nenabled = true\n" % (WA, SITE) in r["create"]["diff"]["before"]
    assert "[%s @ %s]\nenabled = false\n" % (WA, SITE) in r["create"]["diff"]["after"]
    # idempotence: one read
    assert r["create_again"]["changed"] is False and r["create_again"]["remote_calls"] == 1
    # adding a server: one collection add, nothing else in the file
    assert r["add_check"]["changed"] is True and r["add_check"]["remote_calls"] == 1
    assert r["add_check"]["changes"] == ["add server %s (webFarms @ server [name=%s])" % (C2, farm)]
    assert r["add"]["changes"] == r["add_check"]["changes"] and r["add"]["remote_calls"] == 2
    assert xml_diff(run.text("created"), run.text("added")) == ([], ['<server address="%s" />' % C2])
    # algorithm and health test: set edits on the elements that hold them
    assert [c.split(" (")[0] for c in r["algorithm"]["changes"]] == ["set algorithm=RequestHash",
                                                                     "set hashServerVariable=REMOTE_ADDR"]
    assert [c.split(" (")[0] for c in r["health"]["changes"]] == ["set url=https://sso.camtest.local/ping",
                                                                  "set interval=00:00:20"]
    assert "url = http://sso.camtest.local/health.htm" in r["health"]["diff"]["before"]
    removed, added = xml_diff(run.text("added"), run.text("modified"))
    assert removed == ['<healthCheck url="http://sso.camtest.local/health.htm" interval="00:00:10" '
                       'timeout="00:00:05" />']
    assert sorted(added) == ['<healthCheck url="https://sso.camtest.local/ping" interval="00:00:20" '
                             'timeout="00:00:05" />',
                             '<loadBalancing algorithm="RequestHash" hashServerVariable="REMOTE_ADDR" />']
    # SSL offloading off: the wizard's _SSL rule ahead of the plain one
    assert r["ssl"]["rules"] == [rule + "_SSL", rule]
    ssl_text = run.text("ssl")
    assert ssl_text.index('<rule name="%s_SSL"' % rule) < ssl_text.index('<rule name="%s"' % rule)
    assert '<action type="Rewrite" url="https://%s/{R:0}" />' % farm in ssl_text
    # removing a server: one remove
    assert r["remove_server"]["changes"] == ["remove server %s (webFarms @ server [name=%s])" % (C1, farm)]
    assert xml_diff(run.text("ssl"), run.text("removed_server")) == (['<server address="%s" />' % C1], [])
    assert r["unchanged"]["changed"] is False and r["unchanged"]["remote_calls"] == 1
    # absent: check mode predicts, then farm and both rules go; the proxy switch and the front door stay
    assert r["absent_check"]["changed"] is True and r["absent_check"]["remote_calls"] == 1
    assert run.text("after_absent_check") == run.text("removed_server")
    assert sorted(r["absent"]["changes"]) == sorted([
        "remove webFarm %s (webFarms @ server)" % farm,
        "remove rule %s (system.webServer/rewrite/globalRules @ server)" % rule,
        "remove rule %s_SSL (system.webServer/rewrite/globalRules @ server)" % rule])
    assert r["absent"]["farm"] is None and r["absent"]["remote_calls"] == 2
    gone = run.text("absent")
    assert farm not in gone and '<proxy enabled="true" />' in gone
    assert '<windowsAuthentication enabled="false" />' in gone
    removed, added = xml_diff(run.text("removed_server"), gone)
    assert added == [] and '<webFarm name="%s">' % farm in removed and '<rule name="%s_SSL"' % rule in " ".join(removed)
    assert r["absent_again"]["changed"] is False and r["absent_again"]["remote_calls"] == 1
    # the node's log: one apply per changing task, none for check mode; adding a server is one edit
    applies = run.applies_naming(farm)
    assert len(applies) == 7, [a["edits"] for a in applies]
    assert applies[1]["edits"] == [{"op": "add", "section": "webFarms", "location": "", "path": [{"name": farm}],
                                    "key": {"address": C2}}]
    assert [e["op"] for e in applies[4]["edits"]] == ["remove", "add", "set", "add", "add", "set", "set", "add", "set",
                                                      "add", "set", "set"]
    assert applies[5]["edits"] == [{"op": "remove", "section": "webFarms", "location": "", "path": [{"name": farm}],
                                    "key": {"address": C1}}]


def test_bad_input_fails_before_any_remote_call(arr1: Path, token: str, tmp_path: Path) -> None:
    farm = "arr-probe-%s" % token
    before = arr1.read_bytes()
    run = Run(tmp_path, arr1)
    cases = {
        "address": ({"servers": [{"address": C1}, {"address": "http://content2.camtest.local:8080/"}]},
                    "servers[1].address: 'http://content2.camtest.local:8080/' is not a server address (a URL or "
                    "path, not a host). Fix: give the host name, FQDN or IP address only"),
        "health_url": ({"health_check": {"url": "health.htm"}},
                       "health_check.url: 'health.htm' is not a URL (it needs the http:// or https:// scheme and a "
                       "host). Fix: give an absolute http:// or https:// URL"),
        "pattern": ({"rule": {"pattern": "^api/(v1|v2", "pattern_syntax": "ECMAScript"}},
                    "rule.pattern: '^api/(v1|v2' does not compile as a regular expression: missing ), unterminated "
                    "subpattern at position 5. Fix: correct the regular expression"),
        "python_regex": ({"rule": {"pattern": "(?P<version>v[0-9])/.*", "pattern_syntax": "ECMAScript"}},
                         "rule.pattern: '(?P<version>v[0-9])/.*' is not an ECMAScript regular expression: the group at "
                         "offset 0 uses '(?P<'"),
        "algorithm": ({"algorithm": "RoundRobin"},
                      "algorithm: 'RoundRobin' is not an ARR load-balancing algorithm. Fix: use WeightedRoundRobin "
                      "(round robin is weighted round robin with equal weights); or use one of the names in ARR's "
                      "schema: WeightedRoundRobin, RequestHash, LeastRequests, LeastResponseTime, "
                      "WeightedTotalTraffic"),
    }
    for label, (args, _message) in cases.items():
        run.task(label, dict({"name": farm, "servers": [{"address": C1}]}, **args), ignore_errors=True)
    run.task("no_site", {"name": farm, "servers": [{"address": C1}], "site": "Nope"}, ignore_errors=True)
    run.run()
    for label, (_args, message) in cases.items():
        result = run.results[label]
        assert result["failed"] is True and result["remote_calls"] == 0, (label, result)
        assert result["msg"].startswith(message), (label, result["msg"])
    assert run.results["no_site"]["failed"] is True and run.results["no_site"]["remote_calls"] == 1
    assert run.results["no_site"]["msg"].startswith("site: no site named 'Nope' on this host (sites: Default Web Site)")
    assert arr1.read_bytes() == before
    assert run.applies_naming(farm) == []
