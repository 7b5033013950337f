"""webfarm.winauth.gpo_user_rights against the lab: Samba's own parser, SYSVOL bytes and ldbsearch check the result."""

from __future__ import annotations

import os

from harness.ansible import failed, run_tasks, task
from harness.directory import Kerberos, admin_connection, domain_dn, ldb_attributes, new_token
from harness.gpo import (
    EDITOR_GPT_INI,
    EDITOR_TEMPLATE,
    EDITOR_VERSION,
    EFS_CSE,
    REGISTRY_CSE,
    SECURITY_PAIR,
    account_sid,
    directory_version,
    gpo_edited_elsewhere,
    gpt_ini_version,
    inf_path,
    remove_gpo,
    samba_acl_check,
    samba_parse_inf,
    sysvol_dir,
)


def template_lines(guid: str) -> list[str]:
    data = inf_path(guid).read_bytes()
    assert data.startswith(b"\xff\xfe"), "not UTF-16 LE with a byte-order mark"
    text = data[2:].decode("utf-16-le")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", ""), "not CRLF line ends"
    return text[:-2].split("\r\n")


def rights(guid: str) -> dict[str, list[str]]:
    """[Privilege Rights] as Samba's own GptTmplInfParser reads the file."""
    return dict(samba_parse_inf(inf_path(guid))["Privilege Rights"])


def versions(guid: str) -> tuple[int, int]:
    return directory_version(guid), gpt_ini_version(guid)


def test_batch_logon_right_on_a_gpo_edited_by_other_tools(tmp_path) -> None:
    name = "winauth-test-rights-%s" % new_token()
    guid = gpo_edited_elsewhere(name)
    cam_svc = account_sid("CN=cam-svc,OU=ServiceAccounts,%s" % domain_dn())
    guest = account_sid("CN=Guest,CN=Users,%s" % domain_dn())
    grant = {"gpo": name, "right": "SeBatchLogonRight", "accounts": ["CAMTEST\\cam-svc"]}
    try:
        # Check mode and refused input write nothing: the real run after them starts from the same
        # state (same diff "before") and makes exactly the predicted change; then nothing is left to do.
        results = run_tasks([
            task("gpo_user_rights", grant, check=True, diff=True),
            task("gpo_user_rights", dict(grant, right="SeBatchLogonRigth")),
            task("gpo_user_rights", dict(grant, accounts=["no-such-account-%s" % new_token()])),
            task("gpo_user_rights", dict(grant, state="absent")),
            task("gpo_user_rights", dict(grant, gpo="no-such-gpo-%s" % new_token())),
            task("gpo_user_rights", grant, diff=True),
            task("gpo_user_rights", grant),
        ], connection=admin_connection())
        predicted, bad, (granted, again) = results[0], results[1:5], results[5:]
        assert predicted["changed"] and predicted["version"] == EDITOR_VERSION + 1
        assert predicted["steps"] == ["marker", "template", "extensions", "gpt_ini", "container", "clear_marker"]
        assert all(failed(result) for result in bad)
        assert "right=SeBatchLogonRigth is not" in bad[0]["msg"] and "did you mean SeBatchLogonRight" in bad[0]["msg"]
        assert "accounts=no-such-account-" in bad[1]["msg"] and "no such account" in bad[1]["msg"]
        assert "cannot be combined with state=absent" in bad[2]["msg"]
        assert "gpo=no-such-gpo-" in bad[3]["msg"] and "no GPO has that display name" in bad[3]["msg"]

        for key in ("changed", "version", "steps", "holders", "defined", "diff", "warnings"):
            assert granted[key] == predicted[key], key  # check mode predicted it exactly
        assert not again["changed"] and again["steps"] == [] and again["version"] == EDITOR_VERSION + 1
        assert granted["holders"] == [{"entry": "*" + cam_svc, "sid": cam_svc, "name": "CAMTEST\\cam-svc"}]
        assert any("replaces the local holders" in w and "BUILTIN\\Performance Log Users" in w
                   for w in granted["warnings"])
        diff = granted["diff"]
        assert "SeServiceLogonRight = *S-1-5-20 (NT AUTHORITY\\NETWORK SERVICE)" in diff["before"]
        assert "SeDenyBatchLogonRight = *S-1-5-32-546 (BUILTIN\\Guests), Guest (%s)" % guest in diff["before"]
        assert "SeBatchLogonRight" not in diff["before"]
        assert "SeBatchLogonRight = *%s (CAMTEST\\cam-svc)" % cam_svc in diff["after"]
        assert "131075 (user 2, computer 3)" in diff["before"] and "131076 (user 2, computer 4)" in diff["after"]

        # Samba's parser sees our SID; every other line of the file is as the other tool wrote it.
        assert rights(guid) == {"SeServiceLogonRight": ["*S-1-5-20"],
                                "SeDenyBatchLogonRight": ["*S-1-5-32-546", "Guest"],
                                "SeInteractiveLogonRight": ["*S-1-5-32-544"],
                                "SeBatchLogonRight": ["*" + cam_svc]}
        expected = list(EDITOR_TEMPLATE)
        expected.insert(EDITOR_TEMPLATE.index("[Version]"), "SeBatchLogonRight = *" + cam_svc)
        assert template_lines(guid) == expected
        # Versions: the computer half went up by one in GPT.INI and AD alike; GPT.INI kept its cp1251 bytes.
        assert versions(guid) == (EDITOR_VERSION + 1, EDITOR_VERSION + 1)
        assert (sysvol_dir(guid) / "GPT.INI").read_bytes() == \
            EDITOR_GPT_INI.replace(b"=%d" % EDITOR_VERSION, b"=%d" % (EDITOR_VERSION + 1))
        container = "CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn())
        assert ldb_attributes(container, "gPCMachineExtensionNames")["gPCMachineExtensionNames"] == \
            [REGISTRY_CSE + SECURITY_PAIR + EFS_CSE]
        assert sorted(p.name for p in inf_path(guid).parent.iterdir()) == ["GptTmpl.inf"]

        # The same, authenticated with Kerberos from a credential cache (kinit), for LDAP and SMB alike.
        kerberos = {"server": os.environ["LAB_DC_HOSTNAME"], "auth": "kerberos", "tls": "ldaps",
                    "ca_cert": os.environ["LAB_CA_CERT"]}
        exact, removed, undefined = run_tasks([
            task("gpo_user_rights", dict(grant, accounts=["cam-svc", "BUILTIN\\Administrators"], mode="exact")),
            task("gpo_user_rights", dict(grant, accounts=["cam-svc@camtest.local"], mode="remove"), diff=True),
            task("gpo_user_rights", {"gpo": guid, "right": "sebatchlogonright", "state": "absent"}),
        ], connection=kerberos, env=Kerberos.create(tmp_path).kinit_admin())
        assert not any(failed(result) for result in (exact, removed, undefined)), exact.get("msg")
        assert [r["version"] for r in (exact, removed, undefined)] == [EDITOR_VERSION + n for n in (2, 3, 4)]
        assert [h["entry"] for h in exact["holders"]] == ["*" + cam_svc, "*S-1-5-32-544"]
        assert [h["entry"] for h in removed["holders"]] == ["*S-1-5-32-544"]
        assert "SeBatchLogonRight = *S-1-5-32-544 (BUILTIN\\Administrators)\n" in removed["diff"]["after"]
        assert undefined["changed"] and not undefined["defined"] and undefined["holders"] == []
        assert "SeBatchLogonRight" not in rights(guid)
        assert template_lines(guid) == EDITOR_TEMPLATE
        assert versions(guid) == (EDITOR_VERSION + 4, EDITOR_VERSION + 4)
        expected_acl, actual_acl = samba_acl_check(guid)
        assert actual_acl == expected_acl
    finally:
        remove_gpo(guid)


def test_edits_that_lock_out_whole_computers_need_their_opt_in() -> None:
    """No holder at all, and a deny right for (nearly) everybody: refused before any write, done when opted in."""
    name = "winauth-test-guard-%s" % new_token()
    guid = gpo_edited_elsewhere(name)
    before = (template_lines(guid), versions(guid))
    empty = {"gpo": name, "right": "SeBatchLogonRight", "accounts": [], "mode": "exact"}
    deny = {"gpo": name, "right": "SeDenyNetworkLogonRight", "accounts": ["ANONYMOUS LOGON"]}
    try:
        refused = run_tasks([
            task("gpo_user_rights", empty),
            task("gpo_user_rights", empty, check=True),
            task("gpo_user_rights", dict(deny, accounts=["ANONYMOUS LOGON", "NT AUTHORITY\\Authenticated Users"])),
            task("gpo_user_rights", dict(deny, accounts=["Domain Users"], mode="exact")),
            task("gpo_user_rights", {"gpo": "x" * 257}),
        ], connection=admin_connection())
        assert all(failed(result) for result in refused), [r.get("msg") for r in refused]
        assert "accounts=[] with mode=exact" in refused[0]["msg"] and "allow_no_holders: true" in refused[0]["msg"]
        assert refused[1]["msg"] == refused[0]["msg"]
        assert "NT AUTHORITY\\Authenticated Users" in refused[2]["msg"] and "allow_broad_deny" in refused[2]["msg"]
        assert "Domain Users (S-1-5-21-" in refused[3]["msg"] and "-513)" in refused[3]["msg"]
        assert "at most 256 characters" in refused[4]["msg"]
        assert (template_lines(guid), versions(guid)) == before       # nothing was written

        allowed = run_tasks([
            task("gpo_user_rights", dict(empty, allow_no_holders=True)),
            task("gpo_user_rights", dict(deny, accounts=["NT AUTHORITY\\Authenticated Users"], allow_broad_deny=True)),
            task("gpo_user_rights", deny),      # a specific principal needs no opt-in
        ], connection=admin_connection())
        assert not any(failed(result) for result in allowed), [r.get("msg") for r in allowed]
        parsed = rights(guid)
        assert parsed["SeBatchLogonRight"] == [] or parsed["SeBatchLogonRight"] == [""], parsed
        assert parsed["SeDenyNetworkLogonRight"] == ["*S-1-5-11", "*S-1-5-7"], parsed
    finally:
        remove_gpo(guid)
