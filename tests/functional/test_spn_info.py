"""webfarm.winauth.spn_info against the lab's real Samba AD DC: setspn -Q, -L and -X.

The duplicate is planted behind the DC's back: ldbmodify straight on the domain
partition file skips the uniqueness check the DC applies to every other write. It
is removed again whatever happens.
"""

from __future__ import annotations

from harness.ansible import run_tasks, task
from harness.directory import (
    Kerberos,
    add_spns,
    connection_env,
    dn_of,
    new_token,
    partition_modify,
    remove_spns,
    spns_of,
)

INFO = "webfarm.winauth.spn_info"
SPN = "webfarm.winauth.spn"


def _partition_spn(dn: str, change: str, value: str) -> str:
    return "dn: %s\nchangetype: modify\n%s: servicePrincipalName\nservicePrincipalName: %s\n" % (dn, change, value)


def test_query_list_and_a_duplicate_planted_behind_the_dcs_back(lab, tmp_path):
    token = new_token()
    spn = "HTTP/dup-%s.camtest.local" % token
    twin = "http/DUP-%s.CAMTEST.local" % token  # the same SPN for AD, in another spelling
    server1, server2 = dn_of("SERVER1$"), dn_of("SERVER2$")
    env = connection_env(lab)
    try:
        add_spns("SERVER1$", spn)
        partition_modify(_partition_spn(server2, "add", twin))
        assert twin in spns_of("SERVER2$")  # the DC would have refused this one
        krb = Kerberos.create(tmp_path)
        krb.kinit("alice", "Alice-Pa55!")
        broken = krb.kvno(spn)
        assert broken.returncode != 0, "a duplicated SPN must break Kerberos for that name: " + broken.stdout

        info, register, bad_pattern, nothing = run_tasks([
            task(INFO, {"spns": ["HTTP/DUP-%s*" % token, "*/nothing-%s*" % token], "accounts": ["SERVER2"],
                        "duplicates": True}),
            task(SPN, {"account": "cam-svc", "spns": [spn]}, check=True),
            task(INFO, {"spns": ["HTTP/ dup*"]}),
            task(INFO, {}),
        ], env)
        assert not info.failed and not info.changed, info.msg

        dup = [d for d in info["duplicates"] if d["spn"].lower() == spn.lower()]
        assert len(dup) == 1, info["duplicates"]
        assert [(h["dn"], h["spn"], h["sam_account_name"]) for h in dup[0]["holders"]] == [
            (server1, spn, "SERVER1$"), (server2, twin, "SERVER2$")]

        query, none = info["queries"]
        assert query["pattern"] == "HTTP/DUP-%s*" % token
        assert sorted((h["dn"], h["spn"]) for h in query["found"]) == [(server1, spn), (server2, twin)]
        assert none == {"pattern": "*/nothing-%s*" % token, "found": []}

        (listed,) = info["accounts"]
        assert listed["dn"] == server2 and listed["kind"] == "computer"
        assert sorted(listed["spns"]) == sorted(spns_of("SERVER2$"))

        assert register.failed
        assert "%s is already registered on %s (SERVER1$)" % (spn, server1) in register.msg
        assert "%s is already registered on %s (SERVER2$)" % (spn, server2) in register.msg

        assert bad_pattern.failed and "spns: 'HTTP/ dup*' contains whitespace" in bad_pattern.msg
        assert nothing.failed and "nothing to look up" in nothing.msg
    finally:
        if twin in spns_of("SERVER2$"):
            partition_modify(_partition_spn(server2, "delete", twin))
        remove_spns([spn], "SERVER1$")
    assert spn.lower() not in {v.lower() for v in spns_of("SERVER1$") + spns_of("SERVER2$")}
