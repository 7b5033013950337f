"""Unit tests of the farm audit's rules, its node snapshot (read through the lab twin) and its reports."""

from __future__ import annotations

import copy
import datetime

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.dns import canonical_names
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import (
    AuditError,
    farm_spec,
    interesting_spns,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.render import render_dot, render_text
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.rules import audit, decrypts_with
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.snapshot import (
    node_snapshot,
    snapshot_targets,
)

from _twin import apply, new_node, read

CAM = {"dn": "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local", "sam": "cam-svc", "kind": "user",
       "is_computer": False, "sid": "S-1-5-21-1-2-3-1102", "group_sids": ["S-1-5-21-1-2-3-513"]}
SERVER1 = {"dn": "CN=SERVER1,OU=WebServers,DC=camtest,DC=local", "sam": "SERVER1$", "kind": "computer",
           "is_computer": True, "dns_host_name": "server1.camtest.local"}
SERVER2 = {"dn": "CN=SERVER2,OU=WebServers,DC=camtest,DC=local", "sam": "SERVER2$", "kind": "computer",
           "is_computer": True, "dns_host_name": "server2.camtest.local"}
OTHER = {"dn": "CN=other-svc,OU=ServiceAccounts,DC=camtest,DC=local", "sam": "other-svc", "kind": "user",
         "is_computer": False, "sid": "S-1-5-21-1-2-3-1200", "group_sids": []}
GRANT = [{"sid": "S-1-5-21-1-2-3-1102", "name": "CAMTEST\\cam-svc"}, {"sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators"}]


def farm(**overrides) -> dict:
    spec = {"name": "sso", "kind": "lb", "names": ["sso.camtest.local", "sso"], "mode": "kerberos",
            "site": "Default Web Site", "identity": "CAMTEST\\cam-svc"}
    spec.update(overrides)
    return farm_spec(spec)


def app(location: str = "Default Web Site", pool: str = "farm-pool", kernel: bool = False, creds: bool = True,
        providers: tuple = ("Negotiate", "NTLM"), windows: bool = True, anonymous: bool = False,
        single_request: bool = False, persist_kerberos: bool = False) -> dict:
    return {"site": location.split("/")[0], "path": "/", "location": location, "pool": pool, "bindings": [],
            "windows": {"enabled": windows, "providers": list(providers), "use_kernel_mode": kernel,
                        "use_app_pool_credentials": creds, "auth_persist_single_request": single_request,
                        "auth_persist_non_ntlm": persist_kerberos},
            "anonymous": {"enabled": anonymous}}


def node(host: str, user: str = "CAMTEST\\cam-svc", rights: list | None = None, role: str = "node", **app_args) -> dict:
    pools = {"farm-pool": {"identity_type": "SpecificUser", "username": user} if user else
             {"identity_type": "ApplicationPoolIdentity", "username": ""}}
    return {"host": host, "computer": host, "role": role, "applications": [app(**app_args)], "pools": pools,
            "batch_logon": copy.deepcopy(GRANT) if rights is None else rights}


def directory(holders: dict | None = None, gpos: list | None = None) -> dict:
    spn_holders = {"http/sso.camtest.local": [CAM], "http/sso": [CAM]}
    if holders is not None:
        spn_holders = {k.lower(): v for k, v in holders.items()}
    return {"netbios": "CAMTEST", "computers": {"SERVER1": SERVER1, "SERVER2": SERVER2},
            "accounts": {"cam-svc": CAM, "other-svc": OTHER}, "spn_holders": spn_holders, "gpos": gpos or [],
            "computer_ou": "OU=WebServers,DC=camtest,DC=local"}


def found(findings: list) -> set:
    return {(f["id"], f["node"]) for f in findings}


def test_a_healthy_seed_001_farm_has_no_findings() -> None:
    findings = audit(farm(), [node("SERVER1"), node("SERVER2")], directory())
    assert findings == []


def test_seed_001_spn_on_server1_is_named_on_every_node_and_for_the_farm() -> None:
    holders = {"HTTP/sso.camtest.local": [SERVER1], "HTTP/sso": [CAM]}
    findings = audit(farm(), [node("SERVER1"), node("SERVER2")], directory(holders))
    assert {("spn_on_computer_account", "SERVER1"), ("spn_on_computer_account", "SERVER2"),
            ("spn_on_unused_account", None)} <= found(findings)
    item = next(f for f in findings if f["id"] == "spn_on_computer_account")
    assert item["spn"] == "HTTP/sso.camtest.local" and item["account"] == "SERVER1$" and item["severity"] == "error"
    assert "Move HTTP/sso.camtest.local to CAMTEST\\cam-svc" in item["fix"]


def test_duplicate_spn_is_one_farm_finding() -> None:
    holders = {"HTTP/sso.camtest.local": [CAM, SERVER2], "HTTP/sso": [CAM]}
    findings = audit(farm(), [node("SERVER1"), node("SERVER2")], directory(holders))
    duplicates = [f for f in findings if f["id"] == "duplicate_spn"]
    assert len(duplicates) == 1 and duplicates[0]["node"] is None
    assert set(duplicates[0]["accounts"]) == {"cam-svc", "SERVER2$"}
    assert not [f for f in findings if f["id"] == "spn_on_wrong_account"]


def test_mixed_identities_only_in_the_farm_pass() -> None:
    nodes = [node("SERVER1"), node("SERVER2", user="CAMTEST\\other-svc")]
    findings = audit(farm(), nodes, directory())
    assert ("mixed_pool_identities", None) in found(findings)
    assert ("spn_on_wrong_account", "SERVER2") in found(findings)
    node_pass = audit(farm(), nodes[1:], directory(), scope="node")
    assert ("mixed_pool_identities", None) not in found(node_pass)
    assert ("spn_on_unused_account", None) not in found(node_pass)


def test_kernel_mode_without_app_pool_credentials_for_a_domain_identity() -> None:
    findings = audit(farm(), [node("SERVER1", kernel=True, creds=False), node("SERVER2", kernel=True, creds=True)],
                     directory())
    assert ("kernel_mode_machine_keys", "SERVER1") in found(findings)
    assert ("kernel_mode_machine_keys", "SERVER2") not in found(findings)
    assert ("spn_on_wrong_account", "SERVER1") in found(findings)


def test_which_keys_decrypt() -> None:
    domain = {"identity_type": "SpecificUser", "username": "CAMTEST\\cam-svc"}
    assert decrypts_with(app(kernel=True, creds=False), domain, "SERVER1")[0] == "server1$"
    assert decrypts_with(app(kernel=True, creds=True), domain, "SERVER1")[0] == "cam-svc"
    assert decrypts_with(app(kernel=False, creds=False), domain, "SERVER1")[0] == "cam-svc"
    machine = {"identity_type": "NetworkService", "username": ""}
    assert decrypts_with(app(kernel=False), machine, "SERVER1")[0] == "server1$"
    local = {"identity_type": "SpecificUser", "username": ".\\webuser"}
    assert decrypts_with(app(kernel=False), local, "SERVER1")[0] == ""


def test_host_spn_instead_of_http() -> None:
    holders = {"HOST/sso.camtest.local": [CAM], "HTTP/sso": [CAM]}
    findings = audit(farm(), [node("SERVER1")], directory(holders))
    host = [f for f in findings if f["id"] == "host_spn_for_web_name"]
    assert host and host[0]["severity"] == "error" and "HTTP SPN" in host[0]["detail"]
    assert ("spn_missing", "SERVER1") not in found(findings)


def test_missing_spn_means_ntlm_fallback() -> None:
    findings = audit(farm(), [node("SERVER1")], directory({"HTTP/sso": [CAM]}))
    missing = [f for f in findings if f["id"] == "spn_missing"]
    assert missing and missing[0]["spn"] == "HTTP/sso.camtest.local" and "falls back to NTLM" in missing[0]["detail"]


def test_batch_logon_missing_and_granted_through_a_group() -> None:
    findings = audit(farm(), [node("SERVER1", rights=[{"sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators"}])],
                     directory())
    assert ("batch_logon_missing", "SERVER1") in found(findings)
    by_group = [{"sid": "S-1-5-21-1-2-3-513", "name": "CAMTEST\\Domain Users"}]
    assert ("batch_logon_missing", "SERVER1") not in found(audit(farm(), [node("SERVER1", rights=by_group)],
                                                                 directory()))
    built_in = node("SERVER1", user="", rights=[])
    assert ("batch_logon_missing", "SERVER1") not in found(audit(farm(mode="ntlm"), [built_in], directory()))


def test_batch_logon_gpo_linked_where_no_farm_computer_is() -> None:
    gpos = [{"name": "IIS-BatchLogon-GPO", "guid": "{X}", "grants_identity": True, "identities": ["cam-svc"],
             "links": ["OU=ServiceAccounts,DC=camtest,DC=local"], "reaches": {"SERVER1": False, "SERVER2": False}}]
    findings = audit(farm(), [node("SERVER1"), node("SERVER2")], directory(gpos=gpos))
    item = next(f for f in findings if f["id"] == "batch_logon_gpo_out_of_scope")
    assert item["severity"] == "error" and "OU=ServiceAccounts" in item["detail"] and "OU=WebServers" in item["fix"]
    gpos[0]["reaches"] = {"SERVER1": True, "SERVER2": True}
    assert "batch_logon_gpo_out_of_scope" not in {f["id"] for f in audit(farm(), [node("SERVER1")],
                                                                         directory(gpos=gpos))}
    gpos[0]["reaches"] = {"SERVER1": True, "SERVER2": False}
    partial = audit(farm(batch_logon_gpo="IIS-BatchLogon-GPO"), [node("SERVER1"), node("SERVER2")],
                    directory(gpos=gpos))
    assert ("batch_logon_gpo_partial_scope", None) in found(partial)


def test_ntlm_only_providers_where_kerberos_is_intended() -> None:
    nodes = [node("SERVER1", providers=("NTLM",))]
    assert ("ntlm_only_providers", "SERVER1") in found(audit(farm(), nodes, directory()))
    assert audit(farm(mode="ntlm"), nodes, directory({})) == []


def test_hostname_spn_on_a_service_account_breaks_winrm() -> None:
    holders = {"HTTP/sso.camtest.local": [CAM], "HTTP/sso": [CAM], "HTTP/server1.camtest.local": [CAM]}
    findings = audit(farm(), [node("SERVER1"), node("SERVER2")], directory(holders))
    trap = [f for f in findings if f["id"] == "hostname_spn_on_service_account"]
    assert [(f["node"], f["spn"]) for f in trap] == [("SERVER1", "HTTP/server1.camtest.local")]
    assert "WinRM" in trap[0]["detail"] and "ansible_winrm_service: HOST" in trap[0]["fix"]


def test_arr_front_end_with_windows_authentication() -> None:
    arr_farm = farm(kind="arr", names=["arr1.camtest.local"], site=None)
    front = node("ARR1", role="front_end", windows=True, anonymous=False)
    front["arr"] = {"proxy_enabled": True, "farms": [{"name": "f", "servers": ["content1"]}],
                    "rules": [{"name": "r", "enabled": True, "action": "Rewrite", "url": "http://f/{R:0}"}]}
    content = node("CONTENT1", role="content", single_request=True)
    holders = {"HTTP/arr1.camtest.local": [CAM]}
    findings = audit(arr_farm, [front, content], directory(holders))
    assert ("windows_auth_on_arr_front_end", "ARR1") in found(findings)
    front["applications"][0]["windows"]["enabled"] = False
    front["applications"][0]["anonymous"]["enabled"] = True
    assert audit(arr_farm, [front, content], directory(holders)) == []
    front["arr"]["proxy_enabled"] = False
    assert ("arr_not_proxying", "ARR1") in found(audit(arr_farm, [front, content], directory(holders)))


def test_content_server_behind_arr_that_keeps_an_authentication_per_connection() -> None:
    front = node("ARR1", role="front_end", windows=False, anonymous=True)
    front["arr"] = {"proxy_enabled": True, "farms": [{"name": "f", "servers": ["content1"]}],
                    "rules": [{"name": "r", "enabled": True, "action": "Rewrite", "url": "http://f/{R:0}"}]}
    holders = {"HTTP/portal.camtest.local": [CAM]}
    for mode, providers in (("ntlm", ("NTLM",)), ("kerberos", ("Negotiate", "NTLM")), ("kerberos", ("Negotiate",))):
        arr_farm = farm(kind="arr", names=["portal.camtest.local"], mode=mode)
        unsafe = node("CONTENT1", role="content", providers=providers)
        findings = [f for f in audit(arr_farm, [front, unsafe], directory(holders))
                    if f["id"] == "shared_connection_identity"]
        assert [(f["severity"], f["node"]) for f in findings] == [("error", "CONTENT1")], (mode, providers)
        assert "NTLM (authPersistSingleRequest=false)" in findings[0]["detail"]
        assert "authPersistSingleRequest=true at Default Web Site on CONTENT1" in findings[0]["fix"]
        safe = node("CONTENT1", role="content", providers=providers, single_request=True)
        assert "shared_connection_identity" not in {f["id"] for f in audit(arr_farm, [front, safe],
                                                                           directory(holders))}
    # Kerberos only (no NTLM fallback) is per request unless authPersistNonNTLM keeps it for the connection.
    arr_farm = farm(kind="arr", names=["portal.camtest.local"])
    kerberos_only = node("CONTENT1", role="content", providers=("Negotiate:Kerberos",))
    assert "shared_connection_identity" not in {f["id"] for f in audit(arr_farm, [front, kerberos_only],
                                                                       directory(holders))}
    kept = node("CONTENT1", role="content", providers=("Negotiate:Kerberos",), persist_kerberos=True)
    findings = [f for f in audit(arr_farm, [front, kept], directory(holders)) if f["id"] == "shared_connection_identity"]
    assert len(findings) == 1 and "Kerberos (authPersistNonNTLM=true)" in findings[0]["detail"]
    # Behind an L4 balancer each client has its own connection to the node: not this finding.
    assert "shared_connection_identity" not in {f["id"] for f in audit(farm(), [node("SERVER1"), node("SERVER2")],
                                                                       directory())}


def test_farm_spec_checks_names() -> None:
    with pytest.raises(AuditError, match="farm.names is empty"):
        farm_spec({"name": "x", "names": []})
    with pytest.raises(AuditError, match="not a host name"):
        farm_spec({"name": "x", "names": ["HTTP/sso"]})
    assert farm_spec({"name": "x", "names": ["SSO.Camtest.Local.", "sso.camtest.local"]})["names"] == [
        "sso.camtest.local"]


def test_reports_name_the_findings_and_the_holders() -> None:
    holders = {"HTTP/sso.camtest.local": [SERVER1], "HTTP/sso": [CAM]}
    nodes = [node("SERVER1"), node("SERVER2")]
    findings = audit(farm(), nodes, directory(holders))
    text = render_text(farm(), nodes, directory(holders), findings)
    assert "[ERROR]" in text and "HTTP/sso.camtest.local                   SERVER1$" in text
    assert "runs as CAMTEST\\cam-svc" in text
    dot = render_dot(farm(), nodes, directory(holders), findings)
    assert dot.startswith("digraph") and '"HTTP/sso.camtest.local" -> "server1$"' in dot and "color=red" in dot


def test_node_snapshot_from_a_twin_read(tmp_path) -> None:
    twin = new_node(tmp_path)
    apply(twin, [
        {"op": "add", "section": "system.applicationHost/applicationPools", "location": "", "path": [],
         "item": {"name": "farm-pool"}},
        {"op": "set", "section": "system.applicationHost/applicationPools", "location": "",
         "path": [{"name": "farm-pool"}, "processModel"], "attribute": "identityType", "value": "SpecificUser"},
        {"op": "set", "section": "system.applicationHost/applicationPools", "location": "",
         "path": [{"name": "farm-pool"}, "processModel"], "attribute": "userName", "value": "CAMTEST\\cam-svc"},
        {"op": "set", "section": "system.applicationHost/applicationPools", "location": "",
         "path": [{"name": "farm-pool"}, "processModel"], "attribute": "password", "value": "not-in-the-snapshot"},
        {"op": "set", "section": "system.applicationHost/sites", "location": "",
         "path": [{"name": "Default Web Site"}, {"path": "/"}], "attribute": "applicationPool", "value": "farm-pool"},
        {"op": "set", "section": "system.webServer/security/authentication/windowsAuthentication",
         "location": "Default Web Site", "path": [], "attribute": "enabled", "value": True},
        {"op": "set", "section": "system.webServer/security/authentication/anonymousAuthentication",
         "location": "Default Web Site", "path": [], "attribute": "enabled", "value": False},
    ])
    snapshot = node_snapshot("SERVER1", "server1", "node", read(twin, snapshot_targets("node")), GRANT)
    assert "not-in-the-snapshot" not in repr(snapshot)
    assert snapshot["computer"] == "SERVER1"
    assert snapshot["pools"]["farm-pool"] == {"identity_type": "SpecificUser", "username": "CAMTEST\\cam-svc"}
    site = snapshot["applications"][0]
    assert site["location"] == "Default Web Site" and site["pool"] == "farm-pool"
    assert site["windows"] == {"enabled": True, "providers": ["Negotiate", "NTLM"], "use_kernel_mode": True,
                               "use_app_pool_credentials": False, "auth_persist_single_request": False,
                               "auth_persist_non_ntlm": False,
                               "extended_protection": {"token_checking": "None", "flags": [], "spns": []}}
    assert site["anonymous"] == {"enabled": False} and site["bindings"] == ["http *:80:", "https *:443:"]
    findings = audit(farm(), [snapshot], directory(), scope="node")
    assert ("kernel_mode_machine_keys", "SERVER1") in found(findings)
    front = node_snapshot("ARR1", "ARR1", "front_end", read(twin, snapshot_targets("front_end")), None)
    assert front["arr"] == {"proxy_enabled": False, "farms": [], "rules": []}


@pytest.mark.parametrize("value, severity, words", [
    (0x1C, "warning", "allows RC4"), (0x4, "error", "accepts only RC4"), (0x20004, "error", "accepts only RC4")])
def test_an_identity_that_allows_rc4_is_named_with_the_cve_and_the_module_that_fixes_it(value, severity, words):
    view = directory()
    view["accounts"]["cam-svc"] = dict(CAM, supported_encryption_types=value)
    (rc4,) = [f for f in audit(farm(), [node("SERVER1"), node("SERVER2")], view) if f["id"] == "identity_allows_rc4"]
    assert rc4["severity"] == severity and rc4["node"] is None and words in rc4["title"]
    assert rc4["account"] == "CAMTEST\\cam-svc" and "CVE-2026-20833" in rc4["detail"] and "RC4-HMAC" in rc4["detail"]
    assert "webfarm.winauth.kerberos_encryption with account: CAMTEST\\cam-svc" in rc4["fix"]


@pytest.mark.parametrize("value", [None, 0, 0x18, 0x10])
def test_an_identity_on_aes_or_the_kdc_default_has_no_rc4_finding(value):
    view = directory()
    view["accounts"]["cam-svc"] = dict(CAM, supported_encryption_types=value)
    view["computers"]["SERVER1"] = dict(SERVER1, supported_encryption_types=0x1C)   # a computer's own policy
    assert audit(farm(), [node("SERVER1"), node("SERVER2")], view) == []


def test_extended_protection_where_tls_ends_in_front_of_the_node(tmp_path) -> None:
    """Channel binding cannot match behind ARR or an offloading balancer; the Proxy flag with the farm's SPNs can."""
    twin = new_node(tmp_path, "CONTENT1")
    wa = "system.webServer/security/authentication/windowsAuthentication"
    apply(twin, [{"op": "set", "section": wa, "location": "Default Web Site", "path": [], "attribute": "enabled",
                  "value": True},
                 {"op": "set", "section": wa, "location": "Default Web Site", "path": ["extendedProtection"],
                  "attribute": "tokenChecking", "value": "Require"}])
    content = node_snapshot("CONTENT1", "CONTENT1", "content", read(twin, snapshot_targets("content")), GRANT)
    assert content["applications"][0]["windows"]["extended_protection"]["token_checking"] == "Require"
    front = node("ARR1", role="front_end", windows=False, anonymous=True)
    front["arr"] = {"proxy_enabled": True, "farms": [{"name": "f", "servers": ["content1"]}],
                    "rules": [{"name": "r", "enabled": True, "action": "Rewrite", "url": "http://f/{R:0}"}]}
    arr_farm = farm(kind="arr", names=["portal.camtest.local"], site=None)

    def ep(snapshot):
        return [f for f in audit(arr_farm, [front, snapshot], directory({"HTTP/portal.camtest.local": [CAM]}))
                if f["id"].startswith("extended_protection")]

    (item,) = ep(content)
    expected = ("extended_protection_behind_tls_termination", "error", "CONTENT1")
    assert (item["id"], item["severity"], item["node"]) == expected
    assert "TLS ends on the ARR front end" in item["detail"] and "every request is refused with 401" in item["detail"]
    assert "flags: [Proxy], spns: [HTTP/portal.camtest.local]" in item["fix"]
    # Allow: a warning; the Proxy flag without the farm's SPN: the service name check fails instead
    allow = copy.deepcopy(content)
    allow["applications"][0]["windows"]["extended_protection"]["token_checking"] = "Allow"
    assert [(f["id"], f["severity"]) for f in ep(allow)] == [("extended_protection_behind_tls_termination", "warning")]
    proxied = copy.deepcopy(content)
    proxied["applications"][0]["windows"]["extended_protection"].update(flags=["Proxy"], spns=["HTTP/other"])
    assert [f["id"] for f in ep(proxied)] == ["extended_protection_spn_list"]
    proxied["applications"][0]["windows"]["extended_protection"]["spns"] = ["HTTP/portal.camtest.local"]
    assert ep(proxied) == []
    # An L4 node terminates its own TLS: no finding, unless the balancer offloads it (farm.tls_offload)
    l4 = node("SERVER1")
    l4["applications"][0]["windows"]["extended_protection"] = {"token_checking": "Require", "flags": [], "spns": []}
    assert not [f for f in audit(farm(), [l4], directory(), scope="node") if f["id"].startswith("extended")]
    assert [f["id"] for f in audit(farm(tls_offload=True), [l4], directory(), scope="node")
            if f["id"].startswith("extended")] == ["extended_protection_behind_tls_termination"]


def test_an_identity_whose_password_predates_aes_keys() -> None:
    """pwdLastSet before the Read-only Domain Controllers group was created: RC4 keys only."""
    def filetime(year: int) -> int:
        return (datetime.datetime(year, 6, 1, tzinfo=datetime.timezone.utc)
                - datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(microseconds=1) * 10

    def without_aes(account: dict, since: str | None = "20100315120000.0Z") -> list:
        view = directory()
        view["accounts"]["cam-svc"] = dict(CAM, **account)
        view["aes_keys_since"] = since
        return [(f["id"], f["severity"]) for f in audit(farm(), [node("SERVER1"), node("SERVER2")], view)
                if f["id"] == "identity_without_aes_keys"]

    assert without_aes({"pwd_last_set": filetime(2008)}) == [("identity_without_aes_keys", "error")]
    assert without_aes({"pwd_last_set": filetime(2008), "supported_encryption_types": 0x1C}) == [
        ("identity_without_aes_keys", "warning")]                       # RC4 still allowed: tickets work, RC4
    assert without_aes({"pwd_last_set": filetime(2012)}) == []          # set since: AES keys
    assert without_aes({"pwd_last_set": 0}) == []                       # must change at next logon
    assert without_aes({"pwd_last_set": filetime(2008)}, since=None) == []   # the group could not be read
    assert without_aes({"pwd_last_set": filetime(2008), "kind": "gMSA"}) == []   # managed: rotated by the DCs
    view = directory()
    view["accounts"]["cam-svc"] = dict(CAM, pwd_last_set=filetime(2008))
    view["aes_keys_since"] = "20100315120000.0Z"
    item = next(f for f in audit(farm(), [node("SERVER1")], view) if f["id"] == "identity_without_aes_keys")
    assert "CAMTEST\\cam-svc was last set on 2008-06-01" in item["detail"] and "2010-03-15" in item["detail"]
    assert item["fix"].startswith("Set the password of CAMTEST\\cam-svc once more")


def test_a_node_that_may_not_retrieve_its_pools_gmsa_password() -> None:
    gmsa = {"dn": "CN=web-gmsa,CN=Managed Service Accounts,DC=camtest,DC=local", "sam": "web-gmsa$", "kind": "gMSA",
            "is_computer": False, "sid": "S-1-5-21-1-2-3-1300", "group_sids": [],
            "retrieval": {"SERVER1": {"allowed": True, "reason": "allowed by an ACE for S-1-5-21-1-2-3-1000"},
                          "SERVER2": {"allowed": False, "reason": "no ACE of msDS-GroupMSAMembership grants read"}}}
    view = directory({"HTTP/sso.camtest.local": [gmsa], "HTTP/sso": [gmsa]})
    view["accounts"] = {"web-gmsa$": gmsa}
    nodes = [node("SERVER1", user="CAMTEST\\web-gmsa$"), node("SERVER2", user="CAMTEST\\web-gmsa$")]
    findings = [f for f in audit(farm(identity="CAMTEST\\web-gmsa$"), nodes, view) if f["id"] == "gmsa_retrieval_denied"]
    assert [(f["node"], f["severity"]) for f in findings] == [("SERVER2", "error")]
    assert "SERVER2$ may not retrieve its password (no ACE" in findings[0]["detail"]
    assert "principals: [SERVER2$], mode: add" in findings[0]["fix"]
    unreadable = {n: {"allowed": False, "reason": "not set, or unreadable", "unset": True} for n in ("SERVER1", "SERVER2")}
    view["accounts"]["web-gmsa$"] = dict(gmsa, retrieval=unreadable)
    assert {(f["node"], f["severity"]) for f in audit(farm(identity="CAMTEST\\web-gmsa$"), nodes, view)
            if f["id"] == "gmsa_retrieval_denied"} == {("SERVER1", "warning"), ("SERVER2", "warning")}


def test_a_farm_name_that_is_a_cname_of_another_name() -> None:
    """Resolver answers as getaddrinfo(AI_CANONNAME) gives them; the lab's /etc/hosts cannot hold a CNAME."""
    answers = {"sso.camtest.local": "web01.camtest.local.", "sso": "sso.camtest.local", "gone.camtest.local": None}

    def resolve(name, *_args):
        if answers[name] is None:
            raise OSError("Name or service not known")
        return [(2, 1, 6, answers[name], ("127.0.0.20", 0))]

    canonical = canonical_names(["sso.camtest.local", "sso", "gone.camtest.local"], resolve)
    assert canonical == {"sso.camtest.local": "web01.camtest.local", "sso": "sso.camtest.local",
                         "gone.camtest.local": None}
    spec = farm()
    spec["canonical_names"] = canonical
    assert "HTTP/web01.camtest.local" in interesting_spns(spec, [], directory())
    (item,) = [f for f in audit(spec, [node("SERVER1"), node("SERVER2")], directory()) if f["id"] == "farm_name_is_alias"]
    assert item["severity"] == "error" and item["canonical"] == "web01.camtest.local"
    assert "browsers ask the KDC for HTTP/web01.camtest.local, not for HTTP/sso.camtest.local" in item["detail"]
    assert "held by nobody" in item["detail"] and "A (host) record" in item["fix"]
    # The canonical name's SPN on the farm's account too: Kerberos works, no finding; the short name -> FQDN never is.
    held = directory({"HTTP/sso.camtest.local": [CAM], "HTTP/sso": [CAM], "HTTP/web01.camtest.local": [CAM]})
    assert not [f for f in audit(spec, [node("SERVER1")], held) if f["id"] == "farm_name_is_alias"]
