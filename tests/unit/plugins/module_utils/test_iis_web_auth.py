"""Windows / anonymous authentication planning (pure), on states read from the lab twin and applied back to it."""

from __future__ import annotations

import pytest

from _twin import add_application, apply, new_node, read
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import Plan, PlanError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import (
    ANONYMOUS_AUTH_SPEC,
    WINDOWS_AUTH_SPEC,
    check_web_auth,
    plan_web_auth,
    web_auth_location,
    web_auth_targets,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.acceptor import (
    connection_identity_risk,
    is_domain_identity,
    machine_decrypts,
)

WA = "system.webServer/security/authentication/windowsAuthentication"
ANON = "system.webServer/security/authentication/anonymousAuthentication"
SITE = "Default Web Site"
SECRET = "Anon-Pa55-word!"


def plan_for(node, site=SITE, application=None, windows=None, anonymous=None, behind_proxy=False) -> Plan:
    plan = Plan()
    states = read(node, web_auth_targets(site, application, anonymous))
    plan_web_auth(plan, states, site, application, windows, anonymous, behind_proxy=behind_proxy)
    return plan


def test_location_paths_and_targets() -> None:
    assert web_auth_location(SITE, None) == SITE
    assert web_auth_location(SITE, "/") == SITE
    assert web_auth_location(SITE, "app/") == SITE + "/app"
    assert web_auth_location(SITE, "\\app\\sub") == SITE + "/app/sub"
    targets = web_auth_targets(SITE, "/app", {"username": "CAMTEST\\anon", "password": SECRET})
    assert [(t.section.rsplit("/", 1)[-1], t.location, t.location_optional) for t in targets] == [
        ("sites", "", False), ("applicationPools", "", False), ("windowsAuthentication", SITE + "/app", True),
        ("anonymousAuthentication", SITE + "/app", True)]
    assert targets[3].request()["compare"] == [{"path": [], "attribute": "password", "value": SECRET}]
    assert SECRET not in repr(targets)
    assert set(WINDOWS_AUTH_SPEC["options"]) >= {"enabled", "use_app_pool_credentials", "use_kernel_mode", "providers",
                                                 "auth_persist_single_request", "extended_protection"}
    assert ANONYMOUS_AUTH_SPEC["options"]["password"]["no_log"] is True


def test_seed_001_settings_reach_the_file_and_a_second_plan_is_empty(tmp_path) -> None:
    node = new_node(tmp_path)
    windows = {"enabled": True, "use_kernel_mode": False, "use_app_pool_credentials": True,
               "providers": ["negotiate", "NTLM"], "auth_persist_single_request": False,
               "extended_protection": {"token_checking": "Allow", "flags": ["Proxy", "AllowDotlessSpn"],
                                       "spns": ["HTTP/sso.camtest.local"]}}
    plan = plan_for(node, "default web site", None, windows, {"enabled": False, "username": ""})
    assert all(e["location"] == SITE for e in plan.edits)
    assert [(e["op"], e.get("attribute") or e.get("item")) for e in plan.edits] == [
        ("set", "enabled"), ("set", "useAppPoolCredentials"), ("set", "useKernelMode"),
        ("set", "tokenChecking"), ("set", "flags"), ("clear", None), ("add", {"name": "HTTP/sso.camtest.local"}),
        ("set", "enabled"), ("set", "userName")]
    # the providers are already Negotiate, NTLM (inherited from the server): no clear/add for them
    assert not any(e["path"] == ["providers"] for e in plan.edits)
    diff = plan.diff()
    assert "enabled = false (inherited)" in diff["before"] and "useKernelMode = true (default)" in diff["before"]
    assert "providers = Negotiate, NTLM (inherited)" in diff["before"] and "providers = Negotiate, NTLM" in diff["after"]
    assert "flags = Proxy, AllowDotlessSpn" in diff["after"] and 'userName = ""' in diff["after"]
    assert plan.warnings == []
    result = apply(node, plan.edits)
    assert result["committed"] is True
    text = node.application_host_config.read_text(encoding="utf-8")
    assert '<location path="Default Web Site">' in text
    assert 'useKernelMode="false"' in text and 'useAppPoolCredentials="true"' in text
    again = plan_for(node, SITE, None, windows, {"enabled": False, "username": ""})
    assert again.edits == [] and again.diff()["before"] == again.diff()["after"]


def test_providers_order_and_ntlm_only_mode(tmp_path) -> None:
    node = new_node(tmp_path)
    plan = plan_for(node, windows={"enabled": True, "providers": ["NTLM"]}, anonymous={"enabled": False})
    assert [(e["op"], e.get("item")) for e in plan.edits if e["path"] == ["providers"]] == [
        ("clear", None), ("add", {"value": "NTLM"})]
    apply(node, plan.edits)
    assert plan_for(node, windows={"providers": ["ntlm"]}).edits == []
    reorder = plan_for(node, windows={"providers": ["Negotiate:Kerberos", "NTLM"]})
    assert [e.get("item") for e in reorder.edits] == [None, {"value": "Negotiate:Kerberos"}, {"value": "NTLM"}]


@pytest.mark.parametrize("windows, anonymous, message", [
    ({"providers": ["Kerberos"]}, None, "windows.providers: 'Kerberos' is not a Windows authentication provider "
                                        "(Kerberos only is spelled Negotiate:Kerberos)"),
    ({"providers": ["NTLM", "ntlm"]}, None, "windows.providers: NTLM is listed twice"),
    ({"providers": []}, None, "windows.providers is empty"),
    ({"extended_protection": {"spns": ["sso"]}}, None, "'sso' is not a service principal name"),
    ({"extended_protection": {"flags": ["ProxyCohosting"]}}, None, "ProxyCohosting needs Proxy too"),
    (None, {"username": "IUSR", "password": SECRET}, "anonymous.password applies only to a specific account, not to IUSR"),
    (None, {"username": "", "password": SECRET}, "not to the pool identity"),
    (None, {"password": SECRET}, "anonymous.password is given without anonymous.username"),
    (None, {"username": "CAMTEST\\gmsa$"}, "looks like a managed service account"),
])
def test_bad_input_is_refused_before_anything_is_read(windows, anonymous, message) -> None:
    with pytest.raises(PlanError) as caught:
        check_web_auth(windows, anonymous)
    assert message in str(caught.value) and "Fix: " in str(caught.value)
    assert SECRET not in str(caught.value)


def test_missing_site_and_application_name_the_existing_ones(tmp_path) -> None:
    node = new_node(tmp_path)
    with pytest.raises(PlanError, match=r"site: no site named 'Nope' on this host \(sites: Default Web Site\)"):
        plan_for(node, "Nope", None, {"enabled": True})
    add_application(node, "/app", "DefaultAppPool")
    with pytest.raises(PlanError, match=r"application: site 'Default Web Site' has no application /other "
                                        r"\(applications: /, /app\)"):
        plan_for(node, SITE, "/other", {"enabled": True})
    plan = plan_for(node, SITE, "APP", {"enabled": True})
    assert [e["location"] for e in plan.edits] == [SITE + "/APP"]


def test_anonymous_specific_account_password_is_compared_on_the_host(tmp_path) -> None:
    node = new_node(tmp_path)
    anonymous = {"enabled": True, "username": "CAMTEST\\anon", "password": SECRET}
    with pytest.raises(PlanError, match="anonymous.password is required"):
        plan_for(node, anonymous={"username": "CAMTEST\\anon"})
    plan = plan_for(node, anonymous=anonymous)
    assert [e.get("attribute") for e in plan.edits] == ["userName", "password"]
    assert SECRET not in repr(plan.diff()) + repr(plan.summary) + repr(plan.warnings)
    apply(node, plan.edits)
    assert SECRET not in node.application_host_config.read_text(encoding="utf-8")
    assert plan_for(node, anonymous=anonymous).edits == []
    assert [e["attribute"] for e in plan_for(node, anonymous=dict(anonymous, password="other")).edits] == ["password"]
    back = plan_for(node, anonymous={"username": ""})
    assert [(e["attribute"], e["value"]) for e in back.edits] == [("userName", ""), ("password", "")]
    assert "password = (secret, cleared)" in back.diff()["after"]


def test_warnings_for_both_or_neither_and_for_machine_keys(tmp_path) -> None:
    node = new_node(tmp_path)
    both = plan_for(node, windows={"enabled": True})
    assert any("both anonymous and Windows authentication are enabled" in w for w in both.warnings)
    neither = plan_for(node, anonymous={"enabled": False})
    assert any("neither anonymous nor Windows authentication" in w for w in neither.warnings)
    apply(node, [{"op": "set", "section": "system.applicationHost/applicationPools", "location": "",
                  "path": [{"name": "DefaultAppPool"}, "processModel"], "attribute": name, "value": value}
                 for name, value in (("identityType", "SpecificUser"), ("userName", "CAMTEST\\cam-svc"))])
    risky = plan_for(node, windows={"enabled": True}, anonymous={"enabled": False})
    assert [w for w in risky.warnings if "useKernelMode=true and useAppPoolCredentials=false" in w] == [
        "Default Web Site runs in application pool DefaultAppPool as CAMTEST\\cam-svc, but Windows authentication "
        "there has useKernelMode=true and useAppPoolCredentials=false: HTTP.sys decrypts Kerberos tickets with the "
        "computer account's keys, so tickets for an SPN registered on CAMTEST\\cam-svc fail (401). Set "
        "windows.use_app_pool_credentials=true (or use_kernel_mode=false)."]
    assert plan_for(node, windows={"enabled": True, "use_app_pool_credentials": True},
                    anonymous={"enabled": False}).warnings == []
    assert plan_for(node, windows={"enabled": True, "providers": ["NTLM"]}, anonymous={"enabled": False}).warnings == []


def test_key_owner_rules() -> None:
    assert machine_decrypts(True, False, ["Negotiate", "NTLM"]) is True
    assert machine_decrypts(True, True, ["Negotiate"]) is False
    assert machine_decrypts(False, False, ["Negotiate"]) is False
    assert machine_decrypts(True, False, ["NTLM"]) is False
    assert is_domain_identity("SpecificUser", "CAMTEST\\cam-svc") and is_domain_identity("SpecificUser", "a@b.c")
    assert is_domain_identity("SpecificUser", "web-gmsa$")
    assert not is_domain_identity("SpecificUser", ".\\local") and not is_domain_identity("SpecificUser", "local")
    assert not is_domain_identity("ApplicationPoolIdentity", "")


@pytest.mark.parametrize("providers, single, non_ntlm, kept", [
    (["NTLM"], False, False, "NTLM (authPersistSingleRequest=false)"),
    (["Negotiate", "NTLM"], False, False, "NTLM (authPersistSingleRequest=false)"),
    (["Negotiate"], False, False, "NTLM (authPersistSingleRequest=false)"),   # Negotiate falls back to NTLM
    (["Negotiate:Kerberos"], False, False, ""),
    (["Negotiate:Kerberos"], False, True, "Kerberos (authPersistNonNTLM=true)"),
    (["Negotiate", "NTLM"], False, True, "NTLM (authPersistSingleRequest=false) and Kerberos (authPersistNonNTLM=true)"),
    (["NTLM"], True, False, ""),
    (["Negotiate", "NTLM"], True, True, ""),
])
def test_which_authentication_outlives_its_request(providers, single, non_ntlm, kept) -> None:
    assert connection_identity_risk(providers, single, non_ntlm) == kept


def test_behind_a_proxy_the_plan_warns_about_a_connection_kept_for_one_user(tmp_path) -> None:
    node = new_node(tmp_path)
    windows = {"enabled": True, "providers": ["NTLM"], "use_app_pool_credentials": True}
    plan = plan_for(node, windows=windows, anonymous={"enabled": False}, behind_proxy=True)
    shared = [w for w in plan.warnings if "shares its back-end connections" in w]
    assert len(shared) == 1 and "windows.auth_persist_single_request=true" in shared[0]
    assert shared[0].startswith("Default Web Site is reached through a proxy")
    # Not behind a proxy: each client has its own connection, nothing to warn about.
    assert not [w for w in plan_for(node, windows=windows, anonymous={"enabled": False}).warnings
                if "shares its back-end connections" in w]
    safe = plan_for(node, windows=dict(windows, auth_persist_single_request=True), anonymous={"enabled": False},
                    behind_proxy=True)
    assert not [w for w in safe.warnings if "shares its back-end connections" in w]
    apply(node, safe.edits)
    # The setting already on the node counts: a later task that leaves it alone does not warn.
    later = plan_for(node, windows={"enabled": True}, anonymous={"enabled": False}, behind_proxy=True)
    assert not [w for w in later.warnings if "shares its back-end connections" in w] and later.edits == []
    # Windows authentication off: nothing is authenticated, nothing to keep.
    off = plan_for(node, windows={"enabled": False, "auth_persist_single_request": False}, anonymous={"enabled": True},
                   behind_proxy=True)
    assert not [w for w in off.warnings if "shares its back-end connections" in w]
