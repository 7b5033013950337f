"""ARR farm planning (pure logic), on read results of the lab twin's engine over a fresh ARR node's config.

The planned edits are applied with the same engine, so each test sees the XML IIS's contract would
produce, and that a second plan is empty.
"""

from __future__ import annotations

import runpy
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr import plan as arr_plan
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr import spec as arr_spec
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr import validation as arr_validation
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr.validation import ArrError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Plan,
    PlanError,
    SectionState,
    read_request,
)
from winauth_lab.iis import initial_config
from winauth_lab.iis.config import ConfigEngine

REPO = Path(__file__).resolve().parents[4]
FARM = "sso-farm"
C1, C2, C3 = "content1.camtest.local", "content2.camtest.local", "content3.camtest.local"


@pytest.fixture()
def engine() -> ConfigEngine:
    return ConfigEngine(initial_config("ARR1").encode("utf-8"))


def states(engine: ConfigEngine, desired: arr_validation.Desired) -> list[SectionState]:
    targets = arr_plan.targets(desired)
    request = read_request(targets)
    return [SectionState.from_result(t, engine.read(r)) for t, r in zip(targets, request["sections"])]


def plan(engine: ConfigEngine, **args) -> tuple[Plan, arr_validation.Desired]:
    args.setdefault("name", FARM)
    desired = arr_validation.validate(args)
    result = Plan()
    arr_plan.plan_arr(result, states(engine, desired), desired)
    return result, desired


def converge(engine: ConfigEngine, **args) -> Plan:
    """Plan, apply, and check that the next plan is empty."""
    first, _desired = plan(engine, **args)
    if first.edits:
        engine.apply(first.edits)
    again, _desired = plan(engine, **args)
    assert again.edits == [], again.summary
    assert again.diff()["before"] == again.diff()["after"]
    return first


def config(engine: ConfigEngine) -> ET.Element:
    return ET.fromstring(engine.doc.text.encode("utf-8"))


def farm_xml(engine: ConfigEngine) -> ET.Element | None:
    return config(engine).find("webFarms/webFarm[@name='%s']" % FARM)


def rules_xml(engine: ConfigEngine) -> list[ET.Element]:
    return config(engine).findall("system.webServer/rewrite/globalRules/rule")


def ops(result: Plan) -> list[tuple[str, str]]:
    return [(e["op"], e.get("attribute") or str(e.get("item") or e.get("key") or "")) for e in result.edits]


BASIC = {"servers": [{"address": C1}, {"address": C2}]}


# --- creating ----------------------------------------------------------------------------------------

def test_a_new_farm_is_shaped_as_the_wizard_writes_it(engine: ConfigEngine) -> None:
    first = converge(engine, **BASIC)
    farm = farm_xml(engine)
    assert farm is not None and [s.get("address") for s in farm.findall("server")] == [C1, C2]
    rule, = rules_xml(engine)
    assert rule.attrib == {"name": "ARR_sso-farm_loadbalance", "patternSyntax": "Wildcard", "stopProcessing": "true"}
    assert rule.find("match").attrib == {"url": "*"}
    assert rule.find("action").attrib == {"type": "Rewrite", "url": "http://sso-farm/{R:0}"}
    assert rule.find("conditions") is None
    assert config(engine).find("system.webServer/proxy").attrib == {"enabled": "true"}
    assert [e["op"] for e in first.edits].count("add") == 4     # farm, two servers, rule
    assert "servers = (none)" in first.diff()["before"]
    assert "servers = %s, %s" % (C1, C2) in first.diff()["after"]


def test_every_farm_setting_lands_where_arr_reads_it(engine: ConfigEngine) -> None:
    converge(engine, servers=[{"address": C1, "weight": 50, "http_port": 8080, "https_port": 8443},
                              {"address": "10.0.0.7", "enabled": False}],
             algorithm="requesthash", hash_server_variable="REMOTE_ADDR",
             health_check={"url": "http://sso.camtest.local/health.htm", "interval": 10, "timeout": 5,
                           "status_codes": "200, 401", "response_match": "healthy"},
             client_affinity=True, affinity_cookie_name="SsoAffinity", keep_alive=True, timeout=120,
             enabled=False)
    farm = farm_xml(engine)
    assert farm.get("enabled") == "false"
    first, second = farm.findall("server")
    assert first.find("applicationRequestRouting").attrib == {"weight": "50", "httpPort": "8080", "httpsPort": "8443"}
    assert second.attrib == {"address": "10.0.0.7", "enabled": "false"}
    settings = farm.find("applicationRequestRouting")
    assert settings.find("loadBalancing").attrib == {"algorithm": "RequestHash", "hashServerVariable": "REMOTE_ADDR"}
    assert settings.find("healthCheck").attrib == {"url": "http://sso.camtest.local/health.htm", "interval": "00:00:10",
                                                   "timeout": "00:00:05", "statusCodeMatch": "200,401",
                                                   "responseMatch": "healthy"}
    assert settings.find("affinity").attrib == {"useCookie": "true", "cookieName": "SsoAffinity"}
    assert settings.find("protocol").attrib == {"timeout": "00:02:00"}     # keepAlive and preserveHostHeader: defaults


def test_rule_conditions_host_and_scheme(engine: ConfigEngine) -> None:
    converge(engine, rule={"host_header": "sso.camtest.local", "scheme": "https"})
    rule, = rules_xml(engine)
    assert [c.attrib for c in rule.find("conditions")] == [
        {"input": "{HTTP_HOST}", "pattern": "sso.camtest.local"}, {"input": "{HTTPS}", "pattern": "On"}]
    # ECMAScript: anchored scheme pattern, the pattern given
    converge(engine, rule={"host_header": "^sso\\.camtest\\.local$", "scheme": "https",
                           "pattern_syntax": "ECMAScript", "pattern": "^api/(.*)"})
    rule, = rules_xml(engine)
    assert rule.get("patternSyntax") == "ECMAScript" and rule.find("match").get("url") == "^api/(.*)"
    assert [c.get("pattern") for c in rule.find("conditions")] == ["^sso\\.camtest\\.local$", "^on$"]


def test_without_ssl_offload_the_ssl_rule_comes_first_as_in_the_wizard(engine: ConfigEngine) -> None:
    converge(engine, **BASIC)
    change = converge(engine, rule={"ssl_offload": False})
    secure, plain = rules_xml(engine)
    assert secure.get("name") == "ARR_sso-farm_loadbalance_SSL"
    assert [c.attrib for c in secure.find("conditions")] == [{"input": "{HTTPS}", "pattern": "On"}]
    assert secure.find("action").get("url") == "https://sso-farm/{R:0}"
    assert plain.get("name") == "ARR_sso-farm_loadbalance" and plain.find("conditions") is None
    assert plain.find("action").get("url") == "http://sso-farm/{R:0}"
    # the plain rule existed: it is removed and added again after the _SSL rule
    assert [(e["op"], (e.get("item") or e.get("key") or {}).get("name")) for e in change.edits
            if e["path"] == []] == [("remove", "ARR_sso-farm_loadbalance"), ("add", "ARR_sso-farm_loadbalance_SSL"),
                                    ("add", "ARR_sso-farm_loadbalance")]
    back = converge(engine, rule={"ssl_offload": True})
    assert ops(back) == [("remove", "{'name': 'ARR_sso-farm_loadbalance_SSL'}")]
    only_https = converge(engine, rule={"ssl_offload": False, "scheme": "https"})
    assert [r.get("name") for r in rules_xml(engine)] == ["ARR_sso-farm_loadbalance_SSL"]
    assert ("remove", "{'name': 'ARR_sso-farm_loadbalance'}") in ops(only_https)


def test_other_global_rules_stay_where_they_are(engine: ConfigEngine) -> None:
    engine.apply([{"op": "add", "section": arr_spec.GLOBAL_RULES, "location": "", "path": [],
                   "item": {"name": "Canonical host", "stopProcessing": False}}])
    before = engine.doc.text
    converge(engine, **BASIC)
    assert [r.get("name") for r in rules_xml(engine)] == ["Canonical host", "ARR_sso-farm_loadbalance"]
    assert '<rule name="Canonical host" stopProcessing="false" />' in before
    assert '<rule name="Canonical host" stopProcessing="false" />' in engine.doc.text


# --- modifying ---------------------------------------------------------------------------------------

def test_adding_a_server_is_one_collection_add(engine: ConfigEngine) -> None:
    converge(engine, **BASIC)
    change = converge(engine, servers=[{"address": C1}, {"address": C2}, {"address": C3, "weight": 50}])
    assert ops(change) == [("add", "{'address': '%s'}" % C3), ("set", "weight")]
    assert change.edits[1]["path"] == [{"name": FARM}, {"address": C3}, "applicationRequestRouting"]
    assert change.summary[0] == "add server %s (webFarms @ server [name=%s])" % (C3, FARM)
    assert "servers = %s, %s, %s" % (C1, C2, C3) in change.diff()["after"]


def test_removing_a_server_is_one_remove_and_purge_can_be_off(engine: ConfigEngine) -> None:
    converge(engine, servers=[{"address": C1}, {"address": C2}, {"address": C3}])
    kept = converge(engine, servers=[{"address": C1}], purge_servers=False)
    assert kept.edits == []
    change = converge(engine, servers=[{"address": "CONTENT1.camtest.local"}, {"address": C3}])
    assert ops(change) == [("remove", "{'address': '%s'}" % C2)]
    assert [s.get("address") for s in farm_xml(engine).findall("server")] == [C1, C3]


def test_server_settings_change_in_place(engine: ConfigEngine) -> None:
    converge(engine, **BASIC)
    change = converge(engine, servers=[{"address": C1, "enabled": False}, {"address": C2, "https_port": 8443}])
    assert ops(change) == [("set", "enabled"), ("set", "httpsPort")]


def test_changing_the_algorithm_and_back_clears_the_hash_settings(engine: ConfigEngine) -> None:
    converge(engine, algorithm="RequestHash", hash_query_string=["tenant", "lang"], **BASIC)
    lb = farm_xml(engine).find("applicationRequestRouting/loadBalancing")
    assert lb.attrib == {"algorithm": "RequestHash", "queryStringNames": "tenant,lang"}
    change = converge(engine, algorithm="WeightedRoundRobin")
    assert ops(change) == [("set", "algorithm"), ("set", "queryStringNames")]
    assert change.edits[1]["value"] == ""


def test_changing_the_health_test_sets_only_what_differs(engine: ConfigEngine) -> None:
    converge(engine, health_check={"url": "http://sso.camtest.local/health.htm", "interval": 10}, **BASIC)
    change = converge(engine, health_check={"url": "https://sso.camtest.local/ping", "interval": 10, "timeout": 3})
    assert ops(change) == [("set", "url"), ("set", "timeout")]
    assert "url = http://sso.camtest.local/health.htm" in change.diff()["before"]
    assert "interval = 00:00:10" in change.diff()["after"]


def test_a_changed_host_condition_replaces_the_conditions(engine: ConfigEngine) -> None:
    converge(engine, rule={"host_header": "sso.camtest.local"}, **BASIC)
    change = converge(engine, rule={"host_header": "www.camtest.local"})
    assert ops(change) == [("clear", ""), ("add", "{'input': '{HTTP_HOST}', 'pattern': 'www.camtest.local'}")]
    assert "conditions = {HTTP_HOST} ~ sso.camtest.local" in change.diff()["before"]


def test_unmanaged_settings_are_left_alone(engine: ConfigEngine) -> None:
    converge(engine, algorithm="RequestHash", hash_server_variable="HTTP_HOST", client_affinity=True, **BASIC)
    assert converge(engine).edits == []     # no servers, algorithm, affinity given: nothing to change


# --- removing ----------------------------------------------------------------------------------------

def test_absent_removes_farm_and_rules_and_leaves_the_proxy(engine: ConfigEngine) -> None:
    pristine = engine.doc.text
    converge(engine, rule={"ssl_offload": False}, **BASIC)
    engine.apply([{"op": "add", "section": arr_spec.GLOBAL_RULES, "location": "", "path": [], "item": {"name": "Mine"}},
                  {"op": "set", "section": arr_spec.GLOBAL_RULES, "location": "", "path": [{"name": "Mine"}, "action"],
                   "attribute": "url", "value": "http://SSO-FARM/legacy/{R:1}"}])
    removal = converge(engine, state="absent")
    assert sorted(ops(removal)) == sorted([("remove", "{'name': '%s'}" % FARM),
                                           ("remove", "{'name': 'ARR_sso-farm_loadbalance'}"),
                                           ("remove", "{'name': 'ARR_sso-farm_loadbalance_SSL'}")])
    assert farm_xml(engine) is None and [r.get("name") for r in rules_xml(engine)] == ["Mine"]
    assert config(engine).find("system.webServer/proxy").get("enabled") == "true"
    assert removal.warnings == ["global rule 'Mine' still rewrites to http://SSO-FARM/legacy/{R:1}, which names the "
                                "removed farm sso-farm; remove or change that rule"]
    assert FARM not in pristine
    again, _desired = plan(engine, state="absent")
    assert again.edits == []


def test_absent_may_switch_the_proxy_off_when_told(engine: ConfigEngine) -> None:
    converge(engine, **BASIC)
    converge(engine, state="absent", proxy={"enabled": False})
    assert config(engine).find("system.webServer/proxy").get("enabled") == "false"


# --- the front door: through the web_auth planning ---------------------------------------------------------

WA = "system.webServer/security/authentication/windowsAuthentication"
ANON = "system.webServer/security/authentication/anonymousAuthentication"
SITE = "Default Web Site"


def site_auth(engine: ConfigEngine, section: str) -> dict:
    found = config(engine).findall("location[@path='%s']/system.webServer/security/authentication/%s"
                                   % (SITE, section.rsplit("/", 1)[1]))
    return found[0].attrib if found else {}


def test_the_front_door_turns_windows_off_and_anonymous_on_at_the_site(engine: ConfigEngine) -> None:
    engine.apply([{"op": "set", "section": WA, "location": SITE, "path": [], "attribute": "enabled", "value": True},
                  {"op": "set", "section": ANON, "location": SITE, "path": [], "attribute": "enabled", "value": False}])
    change = converge(engine, **BASIC)
    front = [e for e in change.edits if e["section"] in (WA, ANON)]
    assert [(e["section"], e["location"], e["attribute"], e["value"]) for e in front] == [
        (WA, SITE, "enabled", False), (ANON, SITE, "enabled", True)]
    assert site_auth(engine, WA) == {"enabled": "false"} and site_auth(engine, ANON) == {"enabled": "true"}
    assert "[%s @ %s]\nenabled = true\n" % (WA, SITE) in change.diff()["before"]


def test_the_front_door_is_read_in_the_same_call_and_can_be_left_alone(engine: ConfigEngine) -> None:
    desired = arr_validation.validate({"name": FARM})
    assert [(t.section, t.location) for t in arr_plan.targets(desired)][3:] == [
        ("system.applicationHost/sites", ""), ("system.applicationHost/applicationPools", ""), (WA, SITE), (ANON, SITE)]
    assert len(arr_plan.targets(arr_validation.validate({"name": FARM, "front_door": False}))) == 3
    assert len(arr_plan.targets(arr_validation.validate({"name": FARM, "state": "absent"}))) == 3
    engine.apply([{"op": "set", "section": WA, "location": SITE, "path": [], "attribute": "enabled", "value": True}])
    converge(engine, front_door=False, **BASIC)
    assert site_auth(engine, WA) == {"enabled": "true"}
    converge(engine, state="absent")
    assert site_auth(engine, WA) == {"enabled": "true"}


def test_a_missing_front_door_site_is_named(engine: ConfigEngine) -> None:
    with pytest.raises(PlanError, match=r"^site: no site named 'Nope' on this host \(sites: Default Web Site\)"):
        plan(engine, site="Nope", **BASIC)


# --- warnings and the result -----------------------------------------------------------------------------

def test_retired_algorithms_and_keep_alive_off_warn(engine: ConfigEngine) -> None:
    result, _desired = plan(engine, algorithm="LeastRequests", keep_alive=False, **BASIC)
    assert any("no longer supports LeastRequests" in w for w in result.warnings)
    assert any("keep_alive is false" in w and "NTLM" in w for w in result.warnings)
    result, _desired = plan(engine, proxy={"enabled": False}, **BASIC)
    assert any("proxy.enabled is false" in w for w in result.warnings)
    assert not any("has no servers" in w for w in result.warnings)
    result, _desired = plan(engine)
    assert "farm sso-farm has no servers: ARR answers the requests the rule routes to it with an error (502) until " \
           "servers are added" in result.warnings


def test_farm_summary_predicts_the_result(engine: ConfigEngine) -> None:
    args = dict(servers=[{"address": C1, "weight": 10}, {"address": C2}], health_check={"url": "http://a/h"})
    result, desired = plan(engine, **args)
    predicted = arr_plan.farm_summary(states(engine, desired), desired)
    engine.apply(result.edits)
    assert arr_plan.farm_summary(states(engine, desired), desired) == predicted
    assert predicted["servers"][0] == {"address": C1, "enabled": True, "weight": 10, "http_port": 80, "https_port": 443}
    assert predicted["health_check"]["url"] == "http://a/h" and predicted["timeout"] == 30
    result, desired = plan(engine, servers=[{"address": C3}])
    predicted = arr_plan.farm_summary(states(engine, desired), desired)
    engine.apply(result.edits)
    assert arr_plan.farm_summary(states(engine, desired), desired) == predicted
    assert [s["address"] for s in predicted["servers"]] == [C3]


# --- validation: before anything is read -----------------------------------------------------------------

@pytest.mark.parametrize("address, why", [
    ("http://content1.camtest.local", "a URL or path"),
    ("content1.camtest.local:8080", "a port number"),
    ("content1 .camtest.local", "white space"),
    ("", "empty"),
    ("999.1.1.300", "looks like an IPv4 address"),
    ("-content1.camtest.local", "not a valid host name"),
    ("content1..camtest.local", "not a valid host name"),
    ("[fe80::1]", "an IPv6 address goes without brackets"),
])
def test_invalid_server_addresses_are_refused_with_the_fix(address: str, why: str) -> None:
    with pytest.raises(ArrError) as caught:
        arr_validation.validate({"name": FARM, "servers": [{"address": C1}, {"address": address}]})
    message = str(caught.value)
    assert message.startswith("servers[1].address: %r is not a server address" % address)
    assert why in message and "Fix: give the host name, FQDN or IP address only" in message


@pytest.mark.parametrize("address", ["content1", "CONTENT1.camtest.local", "10.0.0.7", "fe80::1", "content_1.lab"])
def test_valid_server_addresses(address: str) -> None:
    assert arr_validation.validate({"name": FARM, "servers": [{"address": address}]}).servers[0]["address"] == address


@pytest.mark.parametrize("url", ["health.htm", "/health.htm", "ftp://sso/health", "http://", "http:///x",
                                 "http://sso camtest/x", "http://sso.camtest.local:99999/x"])
def test_a_health_test_url_must_be_an_absolute_http_url(url: str) -> None:
    with pytest.raises(ArrError, match=r"^health_check.url: .* is not a URL .*Fix: give an absolute http:// or "):
        arr_validation.validate({"name": FARM, "health_check": {"url": url}})


@pytest.mark.parametrize("pattern, syntax, why", [
    ("api/(", "ECMAScript", "does not compile as a regular expression: missing ), unterminated subpattern at "
                            "position 4"),
    ("*", "ECMAScript", "does not compile as a regular expression: nothing to repeat"),
    ("(?P<x>a)", "ECMAScript", "the group at offset 0 uses '(?P<'"),
    ("(?i)api", "ECMAScript", "the group at offset 0 uses '(?i)'"),
    ("(?<=a)b", "ECMAScript", "uses '(?<='"),
    ("\\Aapi", "ECMAScript", "\\A is Python or Perl syntax"),
    ("a[^]b", "ECMAScript", "'[]' or '[^]' at offset 1"),
    ("", "Wildcard", "the pattern must not be empty"),
])
def test_a_rule_pattern_must_compile(pattern: str, syntax: str, why: str) -> None:
    with pytest.raises(ArrError) as caught:
        arr_validation.validate({"name": FARM, "rule": {"pattern": pattern, "pattern_syntax": syntax}})
    assert str(caught.value).startswith("rule.pattern: ") and why in str(caught.value)


@pytest.mark.parametrize("pattern", ["^api/(.*)", "(?:a|b)+$", "[\\]]x", "\\(?", "[(?P]", "a{2,3}", "^$"])
def test_ecmascript_patterns_in_the_common_subset_pass(pattern: str) -> None:
    assert arr_validation.validate({"name": FARM, "rule": {"pattern": pattern, "pattern_syntax": "ECMAScript"}})


def test_the_host_condition_is_checked_too() -> None:
    with pytest.raises(ArrError, match=r"^rule.host_header: '\^sso\(' does not compile"):
        arr_validation.validate({"name": FARM, "rule": {"host_header": "^sso(", "pattern_syntax": "ECMAScript"}})
    with pytest.raises(ArrError, match="^rule.pattern: ExactMatch needs the exact URL path"):
        arr_validation.validate({"name": FARM, "rule": {"pattern_syntax": "ExactMatch"}})


@pytest.mark.parametrize("value, hint", [
    ("RoundRobin", "use WeightedRoundRobin (round robin is weighted round robin with equal weights)"),
    ("server variable hash", "use RequestHash with hash_server_variable"),
    ("Fastest", ""),
])
def test_an_unknown_algorithm_is_refused_naming_the_valid_ones(value: str, hint: str) -> None:
    with pytest.raises(ArrError) as caught:
        arr_validation.validate({"name": FARM, "algorithm": value})
    message = str(caught.value)
    assert message.startswith("algorithm: %r is not an ARR load-balancing algorithm. Fix: " % value)
    assert hint in message
    assert message.endswith("WeightedRoundRobin, RequestHash, LeastRequests, LeastResponseTime, WeightedTotalTraffic")


@pytest.mark.parametrize("args, message", [
    ({"hash_server_variable": "REMOTE_ADDR"}, "hash_server_variable is set but algorithm is not given"),
    ({"algorithm": "RequestHash", "hash_server_variable": "A", "hash_query_string": ["b"]}, "both set"),
    ({"health_check": {"interval": 5, "timeout": 10}}, "health_check.timeout: 10 seconds is longer than"),
    ({"health_check": {"timeout": 0}}, "health_check.timeout: 0 seconds is out of range. Fix: give 1 to 86400"),
    ({"health_check": {"status_codes": "2xx"}}, "health_check.status_codes: '2xx' is not a status code list"),
    ({"servers": [{"address": "a"}, {"address": "A"}]}, "servers[1].address: 'A' is listed twice"),
    ({"servers": [{"address": "a", "http_port": 0}]}, "servers[0].http_port: 0 is out of range. Fix: give 1 to 65535"),
    ({"servers": [{"address": "a", "weight": 0}]}, "servers[0].weight: 0 is out of range"),
    ({"name": "sso farm"}, "name: 'sso farm' cannot name a web farm here"),
    ({"affinity_cookie_name": "a;b"}, "affinity_cookie_name: 'a;b' is not a cookie name"),
    ({"timeout": 100000}, "timeout: 100000 seconds is out of range"),
    ({"site": "", "front_door": True}, "site: the front door needs the ARR site's name"),
])
def test_other_refusals_name_the_parameter_and_the_fix(args: dict, message: str) -> None:
    with pytest.raises(ArrError) as caught:
        arr_validation.validate(dict({"name": FARM}, **args))
    assert message in str(caught.value) and "Fix: " in str(caught.value)


# --- documentation matches the argument spec ---------------------------------------------------------------

def _compare_spec(spec: dict, doc: dict, where: str, problems: list[str]) -> None:
    if set(spec) != set(doc):
        problems.append("%s: spec %s, documented %s" % (where, sorted(spec), sorted(doc)))
    for name in set(spec) & set(doc):
        ours, theirs = spec[name], doc[name]
        for field in ("type", "elements", "choices", "default", "required"):
            want = ours.get(field, False if field == "required" else None)
            have = theirs.get(field, False if field == "required" else None)
            if want != have:
                problems.append("%s.%s: %s is %r in the spec, %r in the docs" % (where, name, field, want, have))
        if "options" in ours:
            _compare_spec(ours["options"], theirs.get("suboptions", {}), "%s.%s" % (where, name), problems)


def test_the_documentation_describes_the_argument_spec_and_the_result(engine: ConfigEngine) -> None:
    docs = runpy.run_path(str(REPO / "plugins" / "modules" / "arr_farm.py"))
    problems: list[str] = []
    _compare_spec(arr_spec.ARGUMENT_SPEC, yaml.safe_load(docs["DOCUMENTATION"])["options"], "arr_farm", problems)
    assert not problems, "\n".join(problems)
    returned = yaml.safe_load(docs["RETURN"])
    _result, desired = plan(engine, **BASIC)
    summary = arr_plan.farm_summary(states(engine, desired), desired)
    assert set(returned["farm"]["contains"]) == set(summary)
    assert set(summary["servers"][0]) == set(returned["farm"]["contains"]["servers"]["sample"][0])
    assert set(summary["health_check"]) == set(returned["farm"]["contains"]["health_check"]["sample"])


# --- the journal -------------------------------------------------------------------------------------

def test_the_journal_keeps_what_a_farm_change_replaced(engine: ConfigEngine) -> None:
    first = converge(engine, **BASIC)
    added = [(e["kind"], e["name"], e["before"], e["after"]["exists"]) for e in first.journal if e["kind"] == "item"]
    assert ("item", "webFarm", {"exists": False}, True) in added
    assert [e for e in first.journal if e["kind"] == "attribute" and e["name"] == "enabled"
            and e["section"].endswith("/proxy")][0]["before"] == {"value": False, "source": "default"}
    second, _desired = plan(engine, servers=[{"address": C1}, {"address": C3}])
    removed = [e for e in second.journal if e["kind"] == "item" and e["before"]["exists"]]
    assert [e["before"]["values"] for e in removed] == [{"address": C2}]
    assert [e["after"] for e in removed] == [{"exists": False}]
    assert [e["after"]["values"] for e in second.journal if e["kind"] == "item" and e["after"]["exists"]] == [
        {"address": C3}]
    assert len(second.sides()["before"]) == len(second.journal)
