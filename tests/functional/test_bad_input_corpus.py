"""Hostile input, table-driven: each entry fails before any write, naming the parameter and the fix.

Directory modules run from the controller against the lab DC: "no write" is the highest uSNChanged of the
domain partition and the SYSVOL tree, both unchanged across all of them. Node modules run on SERVER1 over
its own WinRM connection: "no write" is SERVER1's applicationHost.config, byte for byte, and no apply in
its call log (a read to find that a site does not exist is allowed; most inputs fail before any call).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from harness.ansible import TaskResult, run_on_hosts, run_tasks, task
from harness.directory import admin_connection, ldif, records
from harness.nodes import NodeLog, node_file

LONG = "a" * 300
# An ARR server whose options are fine, for the entries that break something else.
C1 = {"address": "content1.camtest.local"}

# (label, module, args, words the message must hold: the parameter's name, and a fix)
DIRECTORY: list[tuple[str, str, dict, tuple[str, ...]]] = [
    ("spn-filter-metacharacters", "spn", {"account": "cam-svc", "spns": ["HTTP/web*(objectClass=*)"]}, ("spns",)),
    ("spn-account-filter-injection", "spn", {"account": "cam-svc)(objectClass=*", "spns": ["HTTP/x.camtest.local"]},
     ("account",)),
    ("spn-account-nul", "spn", {"account": "cam-svc\x00x", "spns": ["HTTP/x.camtest.local"]}, ("account",)),
    ("spn-account-malformed-dn", "spn", {"account": "CN=x,,DC=camtest,DC=local", "spns": ["HTTP/x.camtest.local"]},
     ("account",)),
    ("spn-account-dn-injection", "spn", {"account": "CN=x\\,OU=Evil,DC=camtest,DC=local)(cn=*",
                                         "spns": ["HTTP/x.camtest.local"]}, ("account",)),
    ("spn-empty-list", "spn", {"account": "cam-svc", "spns": []}, ("spns",)),
    ("spn-oversized", "spn", {"account": "cam-svc", "spns": ["HTTP/%s.camtest.local" % LONG]}, ("spns",)),
    ("spn-unicode-look-alike", "spn", {"account": "cam-svc", "spns": ["HTTP/\u0455\u0455\u043e.camtest.local"]},
     ("spns",)),
    ("spn-no-host", "spn", {"account": "cam-svc", "spns": ["HTTP/"]}, ("spns",)),
    ("spn-double-slash", "spn", {"account": "cam-svc", "spns": ["HTTP//x.camtest.local"]}, ("spns",)),
    ("spn-newline", "spn", {"account": "cam-svc", "spns": ["HTTP/x.camtest.local\nHTTP/y"]}, ("spns",)),
    ("spn-bad-choice", "spn", {"account": "cam-svc", "spns": ["HTTP/x.camtest.local"], "on_conflict": "steal"},
     ("on_conflict",)),
    ("spn-wrong-type", "spn", {"account": "cam-svc", "spns": ["HTTP/x.camtest.local"], "purge": "maybe"},
     ("purge",)),
    ("spn-info-filter-injection", "spn_info", {"spns": ["HTTP/*)(sAMAccountName=*"]}, ("spns",)),
    ("spn-info-account-wildcard", "spn_info", {"accounts": ["*"]}, ("accounts",)),
    # (MSSQLSvc/host:INSTANCE is a named instance's SPN: only a number out of range is a bad port.)
    ("delegation-bad-port", "delegation", {"account": "cam-svc",
                                           "allowed_to_delegate_to": ["HTTP/web.camtest.local:99999"]},
     ("allowed_to_delegate_to",)),
    ("delegation-not-an-spn", "delegation", {"account": "cam-svc", "allowed_to_delegate_to": ["nonsense"]},
     ("allowed_to_delegate_to",)),
    ("delegation-principal-injection", "delegation", {"account": "cam-svc", "rbcd_principals": ["CAMTEST\\a)(b"]},
     ("rbcd_principals",)),
    ("delegation-unconstrained-unasked", "delegation", {"account": "cam-svc", "unconstrained": True},
     ("unconstrained",)),
    ("encryption-des", "kerberos_encryption", {"account": "cam-svc", "encryption_types": ["des-cbc-md5"]},
     ("encryption_types",)),
    ("encryption-empty", "kerberos_encryption", {"account": "cam-svc", "encryption_types": []},
     ("encryption_types",)),
    ("encryption-account-wildcard", "kerberos_encryption", {"account": "*", "encryption_types": ["aes256"]},
     ("account",)),
    ("gmsa-no-principals", "gmsa_access", {"account": "web-gmsa$", "principals": []}, ("principals",)),
    ("gmsa-account-injection", "gmsa_access", {"account": "web-gmsa$)(x=*", "principals": ["SERVER1$"]},
     ("account",)),
    ("gmsa-principal-nul", "gmsa_access", {"account": "web-gmsa$", "principals": ["SERVER1$\x00"]},
     ("principals",)),
    ("gpo-traversal", "gpo", {"name": "../../etc/passwd"}, ("name",)),
    ("gpo-backslash-traversal", "gpo", {"name": "IIS\\..\\..\\x"}, ("name",)),
    ("gpo-oversized", "gpo", {"name": LONG}, ("name",)),
    ("gpo-nul", "gpo", {"name": "GPO\x00x"}, ("name",)),
    ("gpo-bad-guid", "gpo", {"guid": "not-a-guid"}, ("guid",)),
    ("gpo-empty-name", "gpo", {"name": ""}, ("name",)),
    ("rights-inf-injection", "gpo_user_rights", {"gpo": "IIS-BatchLogon-GPO",
                                                 "right": "SeBatchLogonRight\r\nSeDebugPrivilege = *S-1-1-0",
                                                 "accounts": ["CAMTEST\\cam-svc"]}, ("right",)),
    ("rights-account-inf-injection", "gpo_user_rights", {"gpo": "IIS-BatchLogon-GPO", "right": "SeBatchLogonRight",
                                                         "accounts": ["CAMTEST\\cam-svc\r\n[Privilege Rights]"]},
     ("accounts",)),
    ("rights-unknown", "gpo_user_rights", {"gpo": "IIS-BatchLogon-GPO", "right": "SeLogOnAsBatch",
                                           "accounts": ["CAMTEST\\cam-svc"]}, ("right",)),
    ("rights-nobody", "gpo_user_rights", {"gpo": "IIS-BatchLogon-GPO", "right": "SeBatchLogonRight",
                                          "accounts": [], "mode": "exact"}, ("accounts",)),
    ("rights-broad-deny", "gpo_user_rights", {"gpo": "IIS-BatchLogon-GPO", "right": "SeDenyNetworkLogonRight",
                                              "accounts": ["Everyone"]}, ("allow_broad_deny",)),
    ("rights-gpo-traversal", "gpo_user_rights", {"gpo": "..\\..\\x", "right": "SeBatchLogonRight",
                                                 "accounts": ["CAMTEST\\cam-svc"]}, ("gpo",)),
    ("link-malformed-dn", "gpo_link", {"gpo": "IIS-BatchLogon-GPO", "target": "OU=Web,,DC=camtest,DC=local"},
     ("target",)),
    # A GPO every domain has, so that the target is what the module looks at.
    ("link-filter-injection", "gpo_link", {"gpo": "Default Domain Policy", "target": "OU=Web)(x=*,DC=camtest,DC=local"},
     ("target",)),
    ("link-order-zero", "gpo_link", {"gpo": "IIS-BatchLogon-GPO", "target": "OU=WebServers,DC=camtest,DC=local",
                                     "order": 0}, ("order",)),
    ("password-account-wildcard", "password_check", {"account": "cam-*", "account_password": "x-x-x-x"},
     ("account",)),
    ("journal-missing-record", "journal_restore", {"record": "/nonexistent/winauth/lb.record.json"}, ("record",)),
    ("probe-not-http", "negotiate_probe", {"url": "ftp://web.camtest.local/"}, ("url",)),
    ("probe-header-injection", "negotiate_probe", {"url": "http://web.camtest.local/\r\nHost: evil.example"},
     ("url",)),
    ("probe-count-zero", "negotiate_probe", {"url": "http://web.camtest.local/", "count": 0}, ("count",)),
]

SITE = "Default Web Site"
POOL_OK = {"name": "DefaultAppPool"}
NODE: list[tuple[str, str, dict, tuple[str, ...]]] = [
    ("site-xml", "web_auth", {"site": 'Default Web Site"/><x a="', "windows": {"enabled": True}}, ("site",)),
    ("site-powershell", "web_auth", {"site": "$(Remove-Item C:\\ -Recurse)", "windows": {"enabled": True}},
     ("site",)),
    ("site-empty", "web_auth", {"site": "", "windows": {"enabled": True}}, ("site",)),
    ("providers-duplicated", "web_auth", {"site": SITE, "windows": {"providers": ["Negotiate", "negotiate"]}},
     ("providers",)),
    ("providers-unknown", "web_auth", {"site": SITE, "windows": {"providers": ["Kerberos"]}}, ("providers",)),
    ("ep-spns-duplicated", "web_auth", {"site": SITE, "windows": {"extended_protection": {
        "spns": ["HTTP/a.camtest.local", "http/A.camtest.local"]}}}, ("spns",)),
    ("application-traversal", "web_auth", {"site": SITE, "application": "../../x", "windows": {"enabled": True}},
     ("application",)),
    ("pool-xml-name", "app_pool", {"name": 'bad"pool<x>'}, ("name",)),
    ("pool-name-trailing-space", "app_pool", {"name": "pool "}, ("name",)),
    ("pool-negative-idle", "app_pool", {"name": "p", "idle_timeout": "-5"}, ("idle_timeout",)),
    ("pool-bad-schedule", "app_pool", {"name": "p", "periodic_restart": {"schedule": ["25:00:00"]}},
     ("schedule",)),
    ("pool-no-username", "app_pool", {"name": "p", "identity": "SpecificUser"}, ("username",)),
    ("pool-identity-conflict", "app_pool", {"name": "p", "identity": "NetworkService", "username": "CAMTEST\\svc"},
     ("identity",)),
    ("farm-xml-name", "arr_farm", {"name": 'farm"<x', "servers": [C1]}, ("name",)),
    ("farm-address-space", "arr_farm", {"name": "f", "servers": [{"address": "a b"}]}, ("address",)),
    ("farm-servers-duplicated", "arr_farm", {"name": "f", "servers": [C1, {"address": "CONTENT1.camtest.local"}]},
     ("servers",)),
    ("farm-pattern-unclosed", "arr_farm", {"name": "f", "servers": [C1], "rule": {"pattern": "(unclosed", "pattern_syntax": "ECMAScript"}},
     ("rule.pattern",)),
    ("node-restart-without-pool", "web_node", {"site": SITE, "windows": {"enabled": True}, "restart": "recycled"},
     ("restart",)),
    ("node-bad-right", "web_node", {"site": SITE, "app_pool": POOL_OK, "require": {"SeLogOnAsBatch": ["x"]}},
     ("require",)),
    ("node-refresh-wait", "web_node", {"site": SITE, "app_pool": POOL_OK, "refresh_wait": 9999}, ("refresh_wait",)),
    ("refresh-right-newline", "policy_refresh", {"refresh": False, "rights": ["SeBatchLogonRight\nSeDebug"]},
     ("rights",)),
    ("refresh-wait", "policy_refresh", {"wait": 9999}, ("wait",)),
]

# How the collection's messages (and Ansible's argument checks) say what to do instead.
FIX = re.compile(r"\bfix\b|\bmust be\b|one of|one or more of|valid \w+ include|\b(use|give|remove|set|write|name|omit|check|"
                 r"create|correct|percent-encode)\b", re.I)


def directory_state() -> tuple[int, str]:
    """The highest uSNChanged of the domain partition, and a digest of SYSVOL (where GPO settings live)."""
    usn = max(int(r["uSNChanged"][0]) for r in records(ldif("(uSNChanged=*)", "uSNChanged")))
    digest = hashlib.sha256()
    for path in sorted(Path(os.environ["LAB_SYSVOL"]).rglob("*")):
        digest.update(str(path).encode("utf-8", "surrogateescape"))
        if path.is_file():
            digest.update(path.read_bytes())
    return usn, digest.hexdigest()


def test_the_corpus_is_large_enough() -> None:
    assert len(DIRECTORY) + len(NODE) >= 60
    assert len({entry[0] for entry in DIRECTORY + NODE}) == len(DIRECTORY) + len(NODE)


def _check(label: str, result: dict, words: tuple[str, ...]) -> list[str]:
    msg = str(result.get("msg", ""))
    problems = []
    failed = result.failed if isinstance(result, TaskResult) else bool(result.get("failed"))
    if not failed:
        problems.append("%s: did not fail (%s)" % (label, {k: result.get(k) for k in ("changed", "msg")}))
    elif not all(word in msg for word in words) or not FIX.search(msg):
        problems.append("%s: the message does not name %s and a fix: %s" % (label, "/".join(words), msg[:300]))
    return problems


@pytest.mark.usefixtures("lab")
def test_hostile_directory_input_fails_before_any_write() -> None:
    before = directory_state()
    results = run_tasks([task(module, args, name=label) for label, module, args, _words in DIRECTORY],
                        connection=admin_connection())
    assert directory_state() == before
    problems = [p for (label, _module, _args, words), result in zip(DIRECTORY, results)
                for p in _check(label, result, words)]
    assert not problems, "\n".join(problems)


@pytest.mark.usefixtures("lab")
def test_hostile_node_input_fails_before_any_write(tmp_path) -> None:
    config = node_file("LAB_NODE_CONFIGS", "SERVER1")
    log = NodeLog(node_file("LAB_NODE_LOGS", "SERVER1"))
    before = config.read_bytes()
    tasks = [dict(task(module, args), name=label, register=label.replace("-", "_"))
             for label, module, args, _words in NODE]
    proc, results = run_on_hosts(tmp_path, "SERVER1", tasks)
    assert "SERVER1" in results, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert config.read_bytes() == before
    assert [r for r in log.records() if r.get("op") != "read"] == []
    problems = [p for label, _module, _args, words in NODE
                for p in _check(label, results["SERVER1"][label.replace("-", "_")], words)]
    assert not problems, "\n".join(problems)
