"""The record's journal: built from the before-state keys the modules and actions return (their RETURN), no secret.

The results here follow the RETURN of each module (plugins/modules/*.py); the functional test
(tests/functional/test_change_plan.py) checks the journal of a real lb_farm run on the lab.
"""

from __future__ import annotations

import json

from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import document, journal

from change_plan_cases import META, lb_plan, obs

CAM_SVC = "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local"
SERVER1 = "CN=SERVER1,OU=WebServers,DC=camtest,DC=local"
WEB_SERVERS = "OU=WebServers,DC=camtest,DC=local"
GUID = "{5F2E8A1C-3D4B-4C6E-9A7F-0B1C2D3E4F50}"
WA = "system.webServer/security/authentication/windowsAuthentication"
PM = "system.applicationHost/applicationPools"
SECRET = "Pool-Pa55-word!"


def spn_result(**extra) -> dict:
    return dict({"changed": True, "dn": CAM_SVC, "sam_account_name": "cam-svc",
                 "spns": ["HTTP/old", "HTTP/sso.camtest.local", "HTTP/sso"],
                 "added": ["HTTP/sso.camtest.local", "HTTP/sso"],
                 "removed": [], "moved_from": [{"dn": SERVER1, "sam_account_name": "SERVER1$", "spns": ["HTTP/sso"]}],
                 "spns_before": ["HTTP/old"], "object_sid": "S-1-5-21-1-2-3-1105", "object_guid": "g-cam",
                 "holders_before": [{"dn": SERVER1, "sam_account_name": "SERVER1$", "object_sid": "S-1-5-21-1-2-3-1106",
                                     "object_guid": "g-s1", "spns_before": ["HOST/SERVER1", "http/SSO"]}]}, **extra)


def iis_side(obj_name: str, kind: str, **values) -> dict:
    return dict({"object": "iis:%s@Default Web Site::%s" % (WA, obj_name), "kind": kind, "section": WA,
                 "location": "Default Web Site", "path": [], "name": obj_name}, **values)


def pool_result(**extra) -> dict:
    secret = {"object": "iis:%s@server:[name=cp]/processModel:password" % PM, "kind": "secret", "section": PM,
              "location": "", "path": [{"name": "cp"}, "processModel"], "name": "password"}
    runtime = {"object": "iis:%s@server:[name=cp]:state" % PM, "kind": "runtime", "section": PM, "location": "",
               "path": [{"name": "cp"}], "name": "state"}
    return dict({"changed": True, "name": "cp", "existed": True, "exists": True, "identity": "SpecificUser",
                 "username": "CAMTEST\\cam-svc", "identity_before": "ApplicationPoolIdentity",
                 "username_before": None, "password_changed": True, "runtime_state": "Started",
                 "runtime_state_before": "Started",
                 "before": [dict(secret, set=False), dict(runtime, state="Started", exists=True)],
                 "after": [dict(secret, set=True, changed=True), dict(runtime, state="Started")],
                 "invocation": {"module_args": {"password": SECRET}}}, **extra)


def entries(observations) -> list[dict]:
    return journal.build(observations)["entries"]


def test_spn_journals_the_account_and_each_holder_it_took_spns_from() -> None:
    found = entries([obs("SERVER1", "Directory | SPNs", "spn", spn_result(), delegated=True)])
    account, holder = found
    assert account["object"] == "spn-account:s-1-5-21-1-2-3-1105" and account["plane"] == "directory"
    assert account["before"] == {"spns": ["HTTP/old"]}
    assert account["after"] == {"spns": ["HTTP/old", "HTTP/sso.camtest.local", "HTTP/sso"]}
    assert account["account"] == {"dn": CAM_SVC, "sam_account_name": "cam-svc", "object_sid": "S-1-5-21-1-2-3-1105",
                                  "object_guid": "g-cam"}
    assert account["changes"] == ["spn:http/sso", "spn:http/sso.camtest.local"]
    assert holder["changes"] == ["spn:http/sso"]
    assert holder["before"] == {"spns": ["HOST/SERVER1", "http/SSO"]}
    assert holder["after"] == {"spns": ["HOST/SERVER1"]}       # the moved SPN, whatever its spelling
    assert holder["account"]["sam_account_name"] == "SERVER1$" and holder["restorable"] is True


def test_directory_modules_journal_their_before_keys() -> None:
    run = [
        obs("SERVER1", "delegation", "delegation", {
            "changed": True, "dn": CAM_SVC, "sam_account_name": "cam-svc", "allowed_to_delegate_to": ["HTTP/b"],
            "protocol_transition": False, "unconstrained": False, "user_account_control": 66048,
            "rbcd_principals": [{"sid": "S-1-5-21-1-2-3-1106", "name": "SERVER1$", "dn": SERVER1}],
            "before": {"allowed_to_delegate_to": ["HTTP/a"], "protocol_transition": True, "unconstrained": False,
                       "user_account_control": 16843264, "rbcd_sids": []}}, delegated=True),
        obs("SERVER1", "gpo", "gpo", {"changed": True, "guid": GUID, "name": "IIS-BatchLogon-GPO", "dn": "CN=x",
                                      "created": True, "repaired": [], "repairs": [], "version": 0,
                                      "before": {"existed": False, "name": None}}, delegated=True),
        obs("SERVER1", "rights", "gpo_user_rights", {
            "changed": True, "gpo": {"guid": GUID, "name": "IIS-BatchLogon-GPO"}, "right": "SeBatchLogonRight",
            "defined": True, "holders": [{"entry": "*S-1-5-21-1-2-3-1105", "sid": "S-1-5-21-1-2-3-1105",
                                          "name": "CAMTEST\\cam-svc"}], "version": 1,
            "defined_before": False, "holders_before": [], "machine_extensions_before": "", "version_before": 0},
            delegated=True),
        obs("SERVER1", "link", "gpo_link", {
            "changed": True, "gpo": {"guid": GUID, "name": "IIS-BatchLogon-GPO"}, "target": WEB_SERVERS,
            "links": [{"order": 1, "guid": GUID, "name": "IIS-BatchLogon-GPO", "enabled": True, "enforced": False}],
            "links_before": [], "gplink_before": "", "link_created": True}, delegated=True),
    ]
    delegation, gpo, right, link = entries(run)
    assert delegation["object"] == "delegation:cam-svc"
    assert delegation["before"]["allowed_to_delegate_to"] == ["HTTP/a"] and delegation["before"]["protocol_transition"]
    assert delegation["after"]["rbcd_sids"] == ["S-1-5-21-1-2-3-1106"]
    assert gpo["created"] is True and gpo["before"] == {"existed": False, "name": None}
    assert gpo["object"] == "gpo:iis-batchlogon-gpo" and gpo["gpo"]["guid"] == GUID
    assert right["object"] == "gpo:iis-batchlogon-gpo:right:sebatchlogonright"
    assert link["object"] == "gpo:iis-batchlogon-gpo:link:%s" % WEB_SERVERS.lower()
    assert right["before"] == {"defined": False, "holders": [], "machine_extensions": "", "version": 0}
    assert right["after"]["defined"] is True
    assert link["created"] is True and link["before"] == {"gplink": "", "links": []}
    assert {e["plane"] for e in (delegation, gpo, right, link)} == {"directory"}


def test_kerberos_encryption_journals_the_number_before_and_unset_as_null() -> None:
    """Unset and 0 differ for a rollback (clear the attribute, or write 0); the plan's key names the account."""
    def result(before, before_flags):
        return {"changed": True, "dn": CAM_SVC, "sam_account_name": "cam-svc", "object_sid": "S-1-5-21-1-2-3-1105",
                "supported_encryption_types": 24, "flags": ["AES128-CTS-HMAC-SHA1-96", "AES256-CTS-HMAC-SHA1-96"],
                "previous_flags": before_flags, "supported_encryption_types_before": before}

    unset, = entries([obs("SERVER1", "AES", "kerberos_encryption", result(None, []), delegated=True)])
    assert unset["object"] == "encryption:cam-svc" and unset["kind"] == "kerberos_encryption"
    assert unset["plane"] == "directory" and unset["restorable"] is True
    assert unset["before"] == {"supported_encryption_types": None, "flags": []}
    assert unset["after"]["supported_encryption_types"] == 24
    assert unset["account"] == {"dn": CAM_SVC, "sam_account_name": "cam-svc", "object_sid": "S-1-5-21-1-2-3-1105"}
    rc4, = entries([obs("SERVER1", "AES", "kerberos_encryption", result(4, ["RC4-HMAC"]), delegated=True)])
    assert rc4["before"] == {"supported_encryption_types": 4, "flags": ["RC4-HMAC"]}
    # The journal's key is the one the plan's change uses, so plan, record and journal line up.
    record = document.build("record", [obs("SERVER1", "AES", "kerberos_encryption", result(4, ["RC4-HMAC"]),
                                           delegated=True)], dict(META, mode={"check": False, "diff": True}))
    assert [e["object"] for e in record["journal"]["entries"]] == [rc4["object"]]
    assert '"object": "%s"' % rc4["object"] in json.dumps(record["directory"])


def test_a_deleted_gpo_is_journalled_as_not_restorable() -> None:
    deleted = obs("SERVER1", "gpo", "gpo", {
        "changed": True, "guid": GUID, "name": "Old", "dn": "CN=x", "version": 3, "unlinked": [WEB_SERVERS],
        "before": {"existed": True, "name": "Old", "restorable": False,
                   "links_before": [{"dn": WEB_SERVERS, "gplink_before": "[LDAP://cn=x;0]"}]}}, delegated=True)
    entry, = entries([deleted])
    assert entry["restorable"] is False and "GPO backup" in entry["reason"]
    assert entry["before"]["links_before"][0]["dn"] == WEB_SERVERS


def test_iis_entries_per_node_and_a_secret_only_as_changed() -> None:
    web = {"changed": True, "location": "Default Web Site",
           "before": [iis_side("enabled", "attribute", value=False, source="inherited")],
           "after": [iis_side("enabled", "attribute", value=True, source="local")]}
    run = [obs(host, "Node | auth", "web_auth", web) for host in ("SERVER1", "SERVER2")]
    run += [obs("SERVER1", "Node | pool", "app_pool", pool_result(), secrets=(SECRET,))]
    found = journal.build(run)
    by = {(e["host"], e["kind"]): e for e in found["entries"]}
    for host in ("SERVER1", "SERVER2"):
        enabled = by[(host, "iis_attribute")]
        assert enabled["plane"] == "node" and enabled["restorable"] is True
        assert enabled["before"] == {"value": False, "source": "inherited"}
        assert enabled["iis"] == {"section": WA, "location": "Default Web Site", "path": [], "name": "enabled"}
    secret = by[("SERVER1", "iis_secret")]
    assert secret["before"] == {"set": False} and secret["after"] == {"set": True, "changed": True}
    assert secret["restorable"] is False and "never recorded" in secret["reason"]
    assert by[("SERVER1", "iis_runtime")]["before"] == {"state": "Started", "exists": True}
    identity = by[("SERVER1", "pool_identity")]
    assert identity["before"] == {"identity": "ApplicationPoolIdentity", "username": None, "existed": True}
    assert SECRET not in json.dumps(found)


def test_an_object_changed_twice_keeps_the_first_before_and_the_last_after() -> None:
    first = {"changed": True, "before": [iis_side("enabled", "attribute", value=False, source="default")],
             "after": [iis_side("enabled", "attribute", value=True, source="local")]}
    second = {"changed": True, "before": [iis_side("enabled", "attribute", value=True, source="local")],
              "after": [iis_side("enabled", "attribute", value=False, source="local")]}
    entry, = entries([obs("SERVER1", "one", "web_auth", first), obs("SERVER1", "two", "web_auth", second)])
    assert entry["before"] == {"value": False, "source": "default"}
    assert entry["after"] == {"value": False, "source": "local"} and entry["tasks"] == ["one", "two"]


def test_unchanged_and_other_tasks_are_not_journalled_and_a_failed_one_is_listed() -> None:
    run = [obs("SERVER1", "again", "spn", spn_result(changed=False)),
           obs("SERVER1", "debug", "ansible.builtin.debug", {"changed": True, "msg": "x"}),
           obs("SERVER1", "broke", "web_auth", {"failed": True, "msg": "apply failed half-way"}, status="failed")]
    found = journal.build(run)
    assert found["entries"] == []
    assert found["unrecorded"] == [{"host": "SERVER1", "task": "broke", "action": "webfarm.winauth.web_auth",
                                    "msg": "apply failed half-way"}]


def test_policy_refresh_is_journalled_as_refresh_again() -> None:
    entry, = entries([obs("SERVER1", "refresh", "policy_refresh", {"changed": True, "refreshed": True})])
    assert entry["object"] == "policy:gpupdate" and entry["rollback"] == "refresh policy again"
    assert entry["before"] is None


def test_only_a_record_has_a_journal_and_it_holds_no_secret() -> None:
    run = lb_plan() + [obs("SERVER1", "Directory | SPNs", "spn", spn_result(), delegated=True),
                       obs("SERVER1", "Node | pool", "app_pool", pool_result(), secrets=(SECRET,))]
    assert document.build("plan", run, META)["journal"] is None
    record = document.build("record", run, dict(META, mode={"check": False, "diff": True}))
    assert record["journal"]["format"] == journal.FORMAT
    kinds = {e["kind"] for e in record["journal"]["entries"]}
    assert {"spn_account", "iis_secret", "pool_identity"} <= kinds
    assert SECRET not in json.dumps(record)


def test_web_node_journals_its_iis_edits_the_pool_identity_and_the_refresh() -> None:
    pool = pool_result()
    node = {"changed": True, "refresh": True, "refreshed": True, "before": pool["before"], "after": pool["after"],
            "app_pool": {k: pool[k] for k in ("name", "existed", "identity", "username", "identity_before",
                                              "username_before")},
            "invocation": {"module_args": {"app_pool": {"password": SECRET}}}}
    found = entries([obs("SERVER1", "Node | all", "web_node", node, secrets=(SECRET,))])
    assert [(e["object"], e["kind"]) for e in found] == [
        ("iis:%s@server:[name=cp]/processModel:password" % PM, "iis_secret"),
        ("iis:%s@server:[name=cp]:state" % PM, "iis_runtime"),
        ("pool:cp:identity", "pool_identity"), ("policy:gpupdate", "policy_refresh")]
    assert found[2]["before"]["identity"] == "ApplicationPoolIdentity" and SECRET not in json.dumps(found)
    quiet = entries([obs("SERVER1", "Node | all", "web_node", dict(node, refresh=False))])
    assert "policy:gpupdate" not in [e["object"] for e in quiet]
