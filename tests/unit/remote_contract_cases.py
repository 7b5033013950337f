"""The remote contract as data: for each request, what the PowerShell on Windows and the lab twin must answer.

Each case starts from a fresh lab node (``winauth_lab.iis.initial_config``: IIS 10 with the
Default Web Site on 80 and 443, DefaultAppPool, Negotiate/NTLM providers at server level, ARR and URL Rewrite
declared). ``setup`` requests run first and must succeed. ``expect`` is matched as a subset:
every key given must be present with that value; lists must match item for item; ``ANY``
matches anything, ``ABSENT`` requires the key to be missing. ``rc`` is the exit code.
``config_patch`` edits the starting file (old, new) for cases that need a lock or an odd file;
``lab`` holds lab-only preconditions (on Windows: the matching domain policy).

docs/remote-contract.md describes the same contract in prose; this file is its test.
"""

from __future__ import annotations

WA = "system.webServer/security/authentication/windowsAuthentication"
ANON = "system.webServer/security/authentication/anonymousAuthentication"
POOLS = "system.applicationHost/applicationPools"
SITES = "system.applicationHost/sites"
FARMS = "webFarms"
RULES = "system.webServer/rewrite/globalRules"
PROXY = "system.webServer/proxy"
SITE = "Default Web Site"


class _Any:
    def __repr__(self) -> str:
        return "ANY"


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ANY = _Any()
ABSENT = _Absent()


def read(*sections: dict) -> dict:
    return {"op": "read", "sections": list(sections)}


def apply(*edits: dict) -> dict:
    return {"op": "apply", "edits": list(edits)}


def target(section: str, location: str = "", path: list | None = None, **extra) -> dict:
    return dict({"section": section, "location": location, "path": path or []}, **extra)


def set_(section: str, location: str, path: list, attribute: str, value) -> dict:
    return {"op": "set", "section": section, "location": location, "path": path, "attribute": attribute,
            "value": value}


def add(section: str, location: str, path: list, item: dict) -> dict:
    return {"op": "add", "section": section, "location": location, "path": path, "item": item}


def remove(section: str, location: str, path: list, key: dict) -> dict:
    return {"op": "remove", "section": section, "location": location, "path": path, "key": key}


def revert(section: str, location: str, path: list, attribute: str) -> dict:
    return {"op": "revert", "section": section, "location": location, "path": path, "attribute": attribute}


def clear(section: str, location: str, path: list) -> dict:
    return {"op": "clear", "section": section, "location": location, "path": path}


def error(code: str, **context) -> dict:
    return {"ok": False, "error": dict({"code": code, "message": ANY}, **context)}


def ok(result: dict) -> dict:
    return {"ok": True, "result": result}


def attr(value, source: str) -> dict:
    return {"value": value, "source": source}


def provider(value: str, source: str, inherited: bool) -> dict:
    return {"attributes": {"value": attr(value, source)}, "inherited": inherited}


POOL = {"name": "cam-pool"}
PM = [POOL, "processModel"]

CASES: list[dict] = [
    # --- read ---------------------------------------------------------------------------------
    dict(id="read-windows-auth-server", script="iis_config", request=read(target(WA)), rc=0, expect=ok({
        "sections": [{
            "section": WA, "location": "", "override_mode_effective": "Deny", "found": True, "compare": [],
            "element": {
                "attributes": {
                    "enabled": attr(False, "local"),
                    "useKernelMode": attr(True, "default"),
                    "useAppPoolCredentials": attr(False, "default"),
                    "authPersistNonNTLM": attr(False, "default"),
                },
                "children": {
                    "providers": {"items": [provider("Negotiate", "local", False), provider("NTLM", "local", False)]},
                    "extendedProtection": {"attributes": {"tokenChecking": attr("None", "default"),
                                                          "flags": attr("None", "default")}, "items": []},
                },
            },
        }],
    })),
    dict(id="read-windows-auth-site-inherits", script="iis_config", request=read(target(WA, "default web site")),
         rc=0, expect=ok({"sections": [{
             "location": SITE, "override_mode_effective": "Deny",
             "element": {"attributes": {"enabled": attr(False, "inherited"), "useKernelMode": attr(True, "default")},
                         "children": {"providers": {"items": [provider("Negotiate", "inherited", True),
                                                              provider("NTLM", "inherited", True)]}}},
         }]})),
    # 1.4.0: the holders of user rights in the same read (a node's whole state in one call)
    dict(id="read-with-rights", script="iis_config",
         request=dict(read(target(WA)), rights=["SeBatchLogonRight"]), rc=0,
         expect=ok({"sections": [{"section": WA, "location": "", "found": True}], "rights": {"SeBatchLogonRight": [
             {"sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators"},
             {"sid": "S-1-5-32-551", "name": "BUILTIN\\Backup Operators"},
             {"sid": "S-1-5-32-559", "name": "BUILTIN\\Performance Log Users"},
             {"sid": "S-1-5-32-568", "name": "BUILTIN\\IIS_IUSRS"}]}})),
    dict(id="read-without-rights-returns-none", script="iis_config", request=read(target(WA)), rc=0,
         expect=ok({"sections": ANY, "rights": ABSENT})),
    dict(id="read-with-a-bad-right-name", script="iis_config",
         request=dict(read(target(WA)), rights=["LogOnAsBatch"]), rc=1, expect=error("invalid_request")),
    dict(id="read-unknown-site", script="iis_config", request=read(target(WA, "No Such Site")), rc=1,
         expect=error("location_not_found", section=WA, location="No Such Site")),
    dict(id="read-unknown-section", script="iis_config", request=read(target("system.webServer/noSuchSection")),
         rc=1, expect=error("unknown_section")),
    dict(id="read-app-host-only-section-at-site", script="iis_config", request=read(target(PROXY, SITE)), rc=1,
         expect=error("section_not_allowed_here", section=PROXY, location=SITE)),
    dict(id="read-pools-defaults-from-applicationPoolDefaults", script="iis_config", request=read(target(POOLS)),
         rc=0, expect=ok({"sections": [{"element": {
             "children": {"applicationPoolDefaults": {"attributes": {"managedRuntimeVersion": attr("v4.0", "local")}}},
             "items": [{
                 "attributes": {"name": attr("DefaultAppPool", "local"),
                                "managedRuntimeVersion": attr("v4.0", "default"),
                                "managedPipelineMode": attr("Integrated", "default"),
                                "queueLength": attr(1000, "default")},
                 "children": {"processModel": {"attributes": {
                     "identityType": attr("ApplicationPoolIdentity", "default"),
                     "userName": attr("", "default"),
                     "password": {"value": None, "secret": True, "has_value": False, "source": "default"},
                     "idleTimeout": attr("00:20:00", "default"),
                 }}, "recycling": {"children": {"periodicRestart": {"attributes": {"time": attr("1.05:00:00",
                                                                                                "default")}}}}},
                 "inherited": False,
             }],
         }}]})),
    dict(id="read-missing-pool-is-not-an-error", script="iis_config",
         request=read(target(POOLS, path=[{"name": "nope"}])), rc=0,
         expect=ok({"sections": [{"found": False, "element": None, "path": [{"name": "nope"}]}]})),
    dict(id="read-anonymous-auth", script="iis_config", request=read(target(ANON, SITE)), rc=0,
         expect=ok({"sections": [{"element": {"attributes": {
             "enabled": attr(True, "inherited"), "userName": attr("IUSR", "inherited"),
             "password": {"value": None, "secret": True, "has_value": False},
             "logonMethod": attr("ClearText", "default")}}}]})),
    dict(id="read-sites", script="iis_config", request=read(target(SITES, path=[{"name": SITE}])), rc=0,
         expect=ok({"sections": [{"found": True, "element": {
             "attributes": {"name": attr(SITE, "local"), "id": attr(1, "local"),
                            "serverAutoStart": attr(True, "default")},
             "children": {"bindings": {"items": [
                 {"attributes": {"protocol": attr("http", "local"), "bindingInformation": attr("*:80:", "local"),
                                 "sslFlags": attr(0, "default")}, "inherited": False},
                 {"attributes": {"protocol": attr("https", "local"), "bindingInformation": attr("*:443:", "local")},
                  "inherited": False}]}},
             "items": [{"attributes": {"path": attr("/", "local"),
                                       "applicationPool": attr("DefaultAppPool", "default")}}],
         }}]})),
    dict(id="read-arr-sections", script="iis_config",
         request=read(target(FARMS), target(RULES), target(PROXY)), rc=0, expect=ok({"sections": [
             {"section": FARMS, "element": {"items": [], "children": {"applicationRequestRouting": {"children": {
                 "hostAffinityProviderList": {"items": [{"attributes": {
                     "name": attr("Microsoft.Web.Arr.HostNameRoundRobin", "local")}}]}}}}}},
             {"section": RULES, "element": {"items": []}},
             {"section": PROXY, "element": {"attributes": {"enabled": attr(False, "default"),
                                                           "timeout": attr("00:02:00", "default"),
                                                           "clientCertPassword": {"secret": True, "value": None}}}},
         ]})),
    dict(id="read-lock-attributes-are-reported", script="iis_config", request=read(target(WA, SITE)), rc=0,
         config_patch=('<windowsAuthentication enabled="false">',
                       '<windowsAuthentication enabled="false" lockAttributes="useKernelMode">'),
         expect=ok({"sections": [{"element": {"attributes": {
             "useKernelMode": {"value": True, "source": "default", "locked": True},
             "enabled": {"value": False, "source": "inherited"}}}}]})),

    # --- apply ---------------------------------------------------------------------------------
    dict(id="apply-enable-windows-auth-at-site", script="iis_config",
         request=apply(set_(WA, SITE, [], "enabled", True), set_(WA, SITE, [], "useKernelMode", False)), rc=0,
         expect=ok({"changed": True, "committed": True, "results": [
             {"index": 0, "changed": True, "before": False, "after": True},
             {"index": 1, "changed": True, "before": True, "after": False}]}),
         then=[
             (read(target(WA, SITE)), ok({"sections": [{"element": {"attributes": {
                 "enabled": attr(True, "local"), "useKernelMode": attr(False, "local")}}}]})),
             (read(target(WA)), ok({"sections": [{"element": {"attributes": {"enabled": attr(False, "local")}}}]})),
         ]),
    dict(id="apply-same-value-changes-nothing", script="iis_config", request=apply(set_(WA, SITE, [], "enabled", False)),
         rc=0, expect=ok({"changed": False, "committed": False, "results": [
             {"index": 0, "changed": False, "before": False, "after": False}]})),
    dict(id="apply-invalid-value", script="iis_config", request=apply(set_(WA, SITE, [], "enabled", "maybe")), rc=1,
         expect=error("invalid_value", section=WA, location=SITE, attribute="enabled", edit=0)),
    dict(id="apply-unknown-attribute", script="iis_config",
         request=apply(set_(WA, "", [], "useKernelModes", True)), rc=1,
         expect=error("unknown_attribute", section=WA, edit=0)),
    dict(id="apply-unknown-element", script="iis_config",
         request=apply(set_(WA, "", ["extendedProtections"], "tokenChecking", "Allow")), rc=1,
         expect=error("unknown_element", section=WA, edit=0)),
    dict(id="apply-enum-and-flags-by-name", script="iis_config",
         request=apply(set_(WA, SITE, ["extendedProtection"], "tokenChecking", "require"),
                       set_(WA, SITE, ["extendedProtection"], "flags", "Proxy, AllowDotlessSpn")),
         rc=0, expect=ok({"results": [{"changed": True, "before": "None", "after": "Require"},
                                      {"changed": True, "before": "None", "after": "Proxy, AllowDotlessSpn"}]})),
    dict(id="apply-providers-clear-and-add-at-site", script="iis_config",
         request=apply(clear(WA, SITE, ["providers"]), add(WA, SITE, ["providers"], {"value": "NTLM"})),
         rc=0, expect=ok({"changed": True, "results": [{"index": 0, "changed": True}, {"index": 1, "changed": True}]}),
         then=[
             (read(target(WA, SITE)), ok({"sections": [{"element": {"children": {"providers": {
                 "items": [provider("NTLM", "inherited", True)]}}}}]})),
             (read(target(WA)), ok({"sections": [{"element": {"children": {"providers": {
                 "items": [provider("Negotiate", "local", False), provider("NTLM", "local", False)]}}}}]})),
         ]),
    dict(id="apply-remove-inherited-provider-at-site", script="iis_config",
         request=apply(remove(WA, SITE, ["providers"], {"value": "ntlm"})), rc=0,
         expect=ok({"changed": True}),
         then=[(read(target(WA, SITE)), ok({"sections": [{"element": {"children": {"providers": {
             "items": [provider("Negotiate", "inherited", True)]}}}}]}))]),
    dict(id="apply-revert-an-attribute-set-at-the-site", script="iis_config",
         setup=[apply(set_(WA, SITE, [], "enabled", True))],
         request=apply(revert(WA, SITE, [], "enabled")), rc=0,
         expect=ok({"changed": True, "results": [{"index": 0, "changed": True, "before": True}]}),
         then=[(read(target(WA, SITE)), ok({"sections": [{"element": {"attributes": {
             "enabled": attr(False, "inherited")}}}]}))]),
    dict(id="apply-revert-an-attribute-not-set-there-changes-nothing", script="iis_config",
         request=apply(revert(WA, SITE, [], "useAppPoolCredentials")), rc=0,
         expect=ok({"changed": False, "committed": False, "results": [{"changed": False}]})),
    dict(id="apply-revert-a-pool-identity-and-its-secret", script="iis_config",
         setup=[apply(set_(POOLS, "", [{"name": "DefaultAppPool"}, "processModel"], "identityType", "SpecificUser"),
                      set_(POOLS, "", [{"name": "DefaultAppPool"}, "processModel"], "userName", "CAMTEST\\cam-svc"),
                      set_(POOLS, "", [{"name": "DefaultAppPool"}, "processModel"], "password", "Pa55w.rd!"))],
         request=apply(revert(POOLS, "", [{"name": "DefaultAppPool"}, "processModel"], "identityType"),
                       revert(POOLS, "", [{"name": "DefaultAppPool"}, "processModel"], "userName"),
                       revert(POOLS, "", [{"name": "DefaultAppPool"}, "processModel"], "password")), rc=0,
         expect=ok({"changed": True, "results": [
             {"index": 0, "changed": True, "before": "SpecificUser"},
             {"index": 1, "changed": True, "before": "CAMTEST\\cam-svc"},
             {"index": 2, "changed": True, "secret": True, "before": ABSENT}]}),
         then=[(read(target(POOLS, path=[{"name": "DefaultAppPool"}, "processModel"])), ok({"sections": [{
             "element": {"attributes": {"identityType": {"value": "ApplicationPoolIdentity"},
                                        "userName": {"value": ""},
                                        "password": {"has_value": False}}}}]}))]),
    dict(id="apply-remove-absent-item-changes-nothing", script="iis_config",
         request=apply(remove(WA, "", ["providers"], {"value": "Kerberos"})), rc=0,
         expect=ok({"changed": False, "committed": False})),
    dict(id="read-entries-carry-a-fingerprint", script="iis_config",
         request=read(target(WA), target(POOLS, path=[{"name": "DefaultAppPool"}], state=True)), rc=0,
         expect=ok({"sections": [{"section": WA, "fingerprint": ANY}, {"state": "Started", "fingerprint": ANY}]})),
    dict(id="apply-refused-when-a-target-changed-since-the-read", script="iis_config",
         request=dict(apply(set_(WA, SITE, [], "enabled", True)),
                      expect=[dict(target(WA, SITE), fingerprint="sha256:" + "0" * 64)]),
         rc=1, expect=error("changed_since_read", section=WA, location=SITE),
         then=[(read(target(WA, SITE)), ok({"sections": [{"element": {"attributes": {
             "enabled": attr(False, "inherited")}}}]}))]),
    dict(id="apply-duplicate-key", script="iis_config", request=apply(add(WA, "", ["providers"], {"value": "NTLM"})),
         rc=1, expect=error("duplicate_key", section=WA, edit=0)),
    dict(id="apply-pool-with-secret", script="iis_config",
         request=apply(add(POOLS, "", [], {"name": "cam-pool", "managedRuntimeVersion": ""}),
                       set_(POOLS, "", PM, "identityType", "SpecificUser"),
                       set_(POOLS, "", PM, "userName", "CAMTEST\\cam-svc"),
                       set_(POOLS, "", PM, "password", "Pa55w.rd!")),
         rc=0, expect=ok({"changed": True, "results": [
             {"index": 0, "changed": True},
             {"index": 1, "changed": True, "before": "ApplicationPoolIdentity", "after": "SpecificUser"},
             {"index": 2, "changed": True, "before": "", "after": "CAMTEST\\cam-svc"},
             {"index": 3, "changed": True, "secret": True, "before": ABSENT, "after": ABSENT}]}),
         then=[(read(target(POOLS, path=PM, compare=[
             {"path": PM, "attribute": "password", "value": "Pa55w.rd!"},
             {"path": PM, "attribute": "password", "value": "pa55w.rd!"}])),
             ok({"sections": [{"found": True, "element": {"attributes": {
                 "identityType": attr("SpecificUser", "local"),
                 "password": {"value": None, "secret": True, "has_value": True, "source": "local"}}},
                 "compare": [{"attribute": "password", "found": True, "equal": True},
                             {"attribute": "password", "found": True, "equal": False}]}]})),
             (apply(set_(POOLS, "", PM, "password", "Pa55w.rd!")),
              ok({"changed": False, "results": [{"changed": False, "secret": True}]}))]),
    dict(id="apply-compare-on-missing-pool", script="iis_config",
         request=read(target(POOLS, compare=[{"path": [{"name": "nope"}, "processModel"], "attribute": "password",
                                              "value": "x"}])),
         rc=0, expect=ok({"sections": [{"compare": [{"found": False, "equal": False}]}]})),
    dict(id="apply-set-on-missing-item", script="iis_config",
         request=apply(set_(POOLS, "", [{"name": "nope"}, "processModel"], "identityType", "NetworkService")),
         rc=1, expect=error("item_not_found", section=POOLS, edit=0)),
    dict(id="apply-is-all-or-nothing", script="iis_config",
         request=apply(set_(WA, SITE, [], "enabled", True), set_(WA, SITE, [], "useAppPoolCredentials", "perhaps")),
         rc=1, expect=error("invalid_value", edit=1, attribute="useAppPoolCredentials"),
         then=[(read(target(WA, SITE)), ok({"sections": [{"element": {"attributes": {
             "enabled": attr(False, "inherited")}}}]}))]),
    dict(id="apply-app-host-only-section-at-site", script="iis_config",
         request=apply(set_(PROXY, SITE, [], "enabled", True)), rc=1,
         expect=error("section_not_allowed_here", section=PROXY, location=SITE, edit=0)),
    dict(id="apply-locked-attribute", script="iis_config", request=apply(set_(WA, SITE, [], "useKernelMode", False)),
         config_patch=('<windowsAuthentication enabled="false">',
                       '<windowsAuthentication enabled="false" lockAttributes="useKernelMode">'),
         rc=1, expect=error("section_locked", section=WA, location=SITE, attribute="useKernelMode", edit=0)),
    dict(id="apply-arr-farm-rule-and-proxy", script="iis_config",
         request=apply(
             add(FARMS, "", [], {"name": "sso-farm"}),
             add(FARMS, "", [{"name": "sso-farm"}], {"address": "content1.camtest.local"}),
             set_(FARMS, "", [{"name": "sso-farm"}, {"address": "content1.camtest.local"}, "applicationRequestRouting"],
                  "httpPort", 8080),
             add(RULES, "", [], {"name": "ARR_sso-farm_loadbalance", "patternSyntax": "Wildcard",
                                 "stopProcessing": True}),
             set_(RULES, "", [{"name": "ARR_sso-farm_loadbalance"}, "match"], "url", "*"),
             set_(RULES, "", [{"name": "ARR_sso-farm_loadbalance"}, "action"], "type", "Rewrite"),
             set_(RULES, "", [{"name": "ARR_sso-farm_loadbalance"}, "action"], "url", "http://sso-farm/{R:0}"),
             set_(PROXY, "", [], "enabled", True)),
         rc=0, expect=ok({"changed": True}),
         then=[(read(target(FARMS, path=[{"name": "sso-farm"}]), target(RULES)), ok({"sections": [
             {"found": True, "element": {
                 "attributes": {"name": attr("sso-farm", "local"), "enabled": attr(True, "default")},
                 "items": [{"attributes": {"address": attr("content1.camtest.local", "local")},
                            "children": {"applicationRequestRouting": {"attributes": {
                                "httpPort": attr(8080, "local"), "weight": attr(100, "default")}}}}]}},
             {"element": {"items": [{
                 "attributes": {"name": attr("ARR_sso-farm_loadbalance", "local"),
                                "patternSyntax": attr("Wildcard", "local"), "stopProcessing": attr(True, "local")},
                 "children": {"action": {"attributes": {"type": attr("Rewrite", "local")}},
                              "match": {"attributes": {"url": attr("*", "local")}}}}]}},
         ]}))]),
    dict(id="apply-non-ascii-names-round-trip", script="iis_config",
         request=apply(add(SITES, "", [], {"name": "Caf\u00e9 \u00c9t\u00e9", "id": 2}),
                       set_(WA, "caf\u00e9 \u00e9t\u00e9", [], "enabled", True)),
         rc=0, expect=ok({"changed": True}),
         then=[(read(target(WA, "CAF\u00c9 \u00c9T\u00c9")), ok({"sections": [{
             "location": "Caf\u00e9 \u00c9t\u00e9", "element": {"attributes": {"enabled": attr(True, "local")}}}]}))]),
    dict(id="apply-unknown-op", script="iis_config",
         request=apply({"op": "rename", "section": WA, "location": "", "path": []}), rc=1,
         expect=error("invalid_request", edit=0)),
    # --- 1.1.0: optional locations, every application, runtime state ---------------------------
    dict(id="read-optional-location-of-missing-site", script="iis_config",
         request=read(target(WA, "No Such Site/app", location_optional=True),
                      target(ANON, "No Such Site", location_optional=True,
                             compare=[{"path": [], "attribute": "password", "value": "x"}]),
                      target(WA, SITE, location_optional=True)),
         rc=0, expect=ok({"sections": [
             {"section": WA, "location": "No Such Site/app", "found": False, "location_found": False, "element": None},
             {"section": ANON, "found": False, "location_found": False, "element": None,
              "compare": [{"attribute": "password", "found": False, "equal": False}]},
             {"section": WA, "location": SITE, "found": True, "location_found": ABSENT,
              "element": {"attributes": {"enabled": attr(False, "inherited")}}}]})),
    dict(id="read-each-application", script="iis_config",
         setup=[apply(add(SITES, "", [{"name": SITE}], {"path": "/app", "applicationPool": "DefaultAppPool"}),
                      set_(WA, SITE + "/app", [], "useAppPoolCredentials", True))],
         request=read(target(WA, each_application=True)), rc=0,
         expect=ok({"sections": [{"location": "", "element": {"attributes": {"useAppPoolCredentials": attr(
             False, "default")}}, "applications": [
             {"location": SITE, "found": True, "element": {"attributes": {
                 "useAppPoolCredentials": attr(False, "default"), "enabled": attr(False, "inherited")}}},
             {"location": SITE + "/app", "found": True, "element": {"attributes": {
                 "useAppPoolCredentials": attr(True, "local")}}}]}]})),
    dict(id="read-each-application-needs-server-location", script="iis_config",
         request=read(target(WA, SITE, each_application=True)), rc=1, expect=error("invalid_request")),
    dict(id="read-runtime-state", script="iis_config",
         setup=[apply(add(POOLS, "", [], {"name": "manual-pool", "autoStart": False}))],
         request=read(target(POOLS, path=[{"name": "DefaultAppPool"}], state=True),
                      target(POOLS, path=[{"name": "manual-pool"}], state=True),
                      target(POOLS, path=[{"name": "nope"}], state=True),
                      target(SITES, path=[{"name": SITE}], state=True)),
         rc=0, expect=ok({"sections": [{"found": True, "state": "Started"}, {"found": True, "state": "Stopped"},
                                       {"found": False, "state": None}, {"found": True, "state": "Started"}]})),
    dict(id="read-runtime-state-needs-one-item", script="iis_config", request=read(target(POOLS, state=True)), rc=1,
         expect=error("invalid_request")),
    dict(id="apply-create-then-stop-start-recycle", script="iis_config",
         request=apply(add(POOLS, "", [], {"name": "cam-pool"}),
                       {"op": "stop", "section": POOLS, "location": "", "path": [POOL]},
                       {"op": "start", "section": POOLS, "location": "", "path": [POOL]},
                       {"op": "recycle", "section": POOLS, "location": "", "path": [POOL]},
                       {"op": "start", "section": POOLS, "location": "", "path": [POOL]}),
         rc=0, expect=ok({"changed": True, "committed": True, "results": [
             {"index": 0, "changed": True},
             {"index": 1, "changed": True, "before": "Started", "after": "Stopped"},
             {"index": 2, "changed": True, "before": "Stopped", "after": "Started"},
             {"index": 3, "changed": True, "before": "Started", "after": "Started"},
             {"index": 4, "changed": False, "before": "Started", "after": "Started"}]}),
         then=[(apply({"op": "stop", "section": POOLS, "location": "", "path": [POOL]}),
                ok({"changed": True, "committed": False, "results": [{"index": 0, "before": "Started",
                                                                     "after": "Stopped"}]})),
               (read(target(POOLS, path=[POOL], state=True)), ok({"sections": [{"state": "Stopped"}]})),
               (apply({"op": "recycle", "section": POOLS, "location": "", "path": [POOL]}),
                error("runtime_failed", edit=0))]),
    dict(id="apply-runtime-edit-of-missing-pool", script="iis_config",
         request=apply(set_(WA, SITE, [], "enabled", True),
                       {"op": "start", "section": POOLS, "location": "", "path": [{"name": "nope"}]}),
         rc=1, expect=error("item_not_found", edit=1, committed=True)),
    dict(id="apply-runtime-edit-refused-after-nothing-to-commit", script="iis_config",
         request=apply({"op": "start", "section": POOLS, "location": "", "path": [{"name": "nope"}]}),
         rc=1, expect=error("item_not_found", edit=0, committed=False)),
    dict(id="apply-runtime-edit-needs-one-item", script="iis_config",
         request=apply({"op": "start", "section": WA, "location": SITE, "path": []}), rc=1,
         expect=error("invalid_request", edit=0)),
    dict(id="request-unknown-op", script="iis_config", request={"op": "delete"}, rc=1, expect=error("invalid_request")),
    dict(id="request-empty-stdin", script="iis_config", request=None, rc=1, expect=error("invalid_request")),

    # --- gpupdate -----------------------------------------------------------------------------
    dict(id="gpupdate-computer", script="gpupdate", request={"target": "computer"}, rc=0, expect=ok({
        "target": "computer", "rc": 0, "succeeded": True, "restart_required": False, "output": ANY})),
    dict(id="gpupdate-bad-target", script="gpupdate", request={"target": "everything"}, rc=1,
         expect=error("invalid_request")),
    # 1.2.0: who holds the rights once the refresh is done, in the same call
    dict(id="gpupdate-then-rights", script="gpupdate",
         lab={"domain_policy": {"SeBatchLogonRight": [{"sid": "S-1-5-21-1-2-3-1105", "name": "CAMTEST\\cam-svc"}]}},
         request={"target": "computer", "rights": ["SeBatchLogonRight"]}, rc=0, expect=ok({
             "succeeded": True, "rights": {"SeBatchLogonRight": [
                 {"sid": "S-1-5-21-1-2-3-1105", "name": "CAMTEST\\cam-svc"}]}})),
    dict(id="gpupdate-bad-right-refreshes-nothing", script="gpupdate",
         request={"target": "computer", "rights": ["LogOnAsBatch"]}, rc=1, expect=error("invalid_request")),

    # --- user_rights --------------------------------------------------------------------------
    dict(id="user-rights-local-defaults", script="user_rights", request={"rights": ["SeBatchLogonRight"]}, rc=0,
         expect=ok({"rights": {"SeBatchLogonRight": [
             {"sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators"},
             {"sid": "S-1-5-32-551", "name": "BUILTIN\\Backup Operators"},
             {"sid": "S-1-5-32-559", "name": "BUILTIN\\Performance Log Users"},
             {"sid": "S-1-5-32-568", "name": "BUILTIN\\IIS_IUSRS"}]}})),
    dict(id="user-rights-after-gpupdate-applies-domain-policy", script="user_rights",
         lab={"domain_policy": {"SeBatchLogonRight": [
             {"sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators"},
             {"sid": "S-1-5-21-1-2-3-1105", "name": "CAMTEST\\cam-svc"}]}},
         setup=[("gpupdate", {"target": "computer"})],
         request={"rights": ["SeBatchLogonRight", "SeServiceLogonRight"]}, rc=0,
         expect=ok({"rights": {
             "SeBatchLogonRight": [{"sid": "S-1-5-32-544", "name": "BUILTIN\\Administrators"},
                                   {"sid": "S-1-5-21-1-2-3-1105", "name": "CAMTEST\\cam-svc"}],
             "SeServiceLogonRight": [{"sid": "S-1-5-80-0", "name": "NT SERVICE\\ALL SERVICES"}]}})),
    dict(id="user-rights-bad-name", script="user_rights", request={"rights": ["LogOnAsBatch"]}, rc=1,
         expect=error("invalid_request")),
]
