"""webfarm.winauth.spn against the lab's real Samba AD DC.

Every test names its SPNs and objects with a fresh token and removes them, so the
tests run in any order on the shared lab. What the module did is checked with the
DC's own tools (ldbsearch, samba-tool) and with Kerberos itself (kinit, kvno).
Several module runs share one playbook where nothing has to be looked at in
between: an Ansible start costs seconds on this machine.
"""

from __future__ import annotations

import os

import pytest

from harness.ansible import run_module, run_tasks, task
from harness.directory import (
    Kerberos,
    add_spns,
    connection_env,
    create_computer,
    create_user,
    delete_computer,
    delete_user,
    dn_of,
    ldb_add,
    ldb_delete,
    new_token,
    remove_spns,
    sid_of,
    snapshot,
    spns_of,
)

SPN = "webfarm.winauth.spn"
ALICE = ("alice", "Alice-Pa55!")
WEBOPS = ("webops@camtest.local", "WebOps-Pa55!")
DOMAIN = "camtest.local"


@pytest.fixture()
def env(lab):
    return connection_env(lab)


@pytest.fixture()
def scratch_user():
    """A throwaway user with a password (so it has Kerberos keys), removed afterwards."""
    name = "spnu-%s" % new_token()
    create_user(name, "Spn-Test-%s-Pa55!" % name)
    yield name
    delete_user(name)


# --------------------------------------------------------------------------- the farm's SPN and Kerberos

def test_register_on_pool_identity_then_kerberos_uses_its_key(env, tmp_path):
    """Seeds 001/004: HTTP/<fqdn> and HTTP/<short> on cam-svc; a user's ticket decrypts with cam-svc's key only."""
    short = "sso-%s" % new_token()
    fqdn = "%s.%s" % (short, DOMAIN)
    try:
        first, again = run_tasks([
            task(SPN, {"account": "CAMTEST\\cam-svc", "hosts": [short]}, diff=True),
            task(SPN, {"account": "cam-svc", "spns": ["http/%s" % fqdn.upper(), "HTTP/%s" % short]}),
        ], env)
        assert not first.failed, first.msg
        assert first.changed
        assert first["added"] == ["HTTP/%s" % short, "HTTP/%s" % fqdn]
        assert first["dn"] == dn_of("cam-svc")
        assert "HTTP/%s" % fqdn not in first.result["diff"]["before"]
        assert "  - HTTP/%s\n" % fqdn in first.result["diff"]["after"]
        assert {"http/%s" % short, "http/%s" % fqdn} <= {v.lower() for v in spns_of("cam-svc")}

        krb = Kerberos.create(tmp_path)
        krb.kinit(*ALICE)
        ticket = krb.kvno("HTTP/%s" % fqdn)
        assert ticket.returncode == 0, ticket.stderr
        accepted = krb.kvno("-k", str(krb.export_keytab("cam-svc")), "HTTP/%s" % fqdn)
        assert accepted.returncode == 0 and "keytab entry valid" in accepted.stdout, accepted.stdout + accepted.stderr
        rejected = krb.kvno("-k", str(krb.export_keytab("SERVER1$")), "HTTP/%s" % fqdn)
        assert rejected.returncode != 0, rejected.stdout
        assert "keytab entry invalid" in rejected.stdout + rejected.stderr

        assert not again.failed and not again.changed and again["added"] == [], again.msg  # any case, any form
    finally:
        remove_spns(["HTTP/%s" % short, "HTTP/%s" % fqdn], "cam-svc")


# --------------------------------------------------------------------------- the seed 001 mistake

def test_same_spn_on_second_computer_fails_naming_holder_then_moves(env):
    """Seed 001: HTTP/sso on SERVER1$ then SERVER2$: refused naming the holder; with on_conflict=move, moved."""
    spn = "HTTP/sso-%s.%s" % (new_token(), DOMAIN)
    server1, server2 = dn_of("SERVER1$"), dn_of("SERVER2$")
    try:
        add_spns("SERVER1$", spn)  # the first registration (the module's own adding is tested above)
        refused, predicted = run_tasks([
            task(SPN, {"account": "SERVER2$", "spns": [spn.lower()]}),
            task(SPN, {"account": "SERVER2$", "spns": [spn], "on_conflict": "move"}, check=True, diff=True),
        ], env)
        assert refused.failed
        assert "duplicate SPN" in refused.msg
        assert "%s is already registered on %s (SERVER1$)" % (spn.lower(), server1) in refused.msg
        assert "on_conflict=move" in refused.msg
        assert predicted.changed and not predicted.failed
        assert predicted["moved_from"] == [{"dn": server1, "sam_account_name": "SERVER1$", "spns": [spn]}]
        # Neither the refusal nor check mode wrote. (SERVER1$ and SERVER2$ are shared with other engineers'
        # tests, so this looks at the SPN only; test_check_mode_... compares whole objects of its own.)
        assert spn in spns_of("SERVER1$") and spn.lower() not in {v.lower() for v in spns_of("SERVER2$")}

        moved, again = run_tasks([
            task(SPN, {"account": "SERVER2$", "spns": [spn], "on_conflict": "move"}, diff=True),
            task(SPN, {"account": "SERVER2$", "spns": [spn], "on_conflict": "move"}),
        ], env)
        assert moved.changed and not moved.failed, moved.msg
        for key in ("moved_from", "spns", "added", "diff"):
            assert moved.result[key] == predicted.result[key], key
        assert "%s:" % server1 in moved.result["diff"]["before"] and "%s:" % server2 in moved.result["diff"]["after"]
        assert spn.lower() not in {v.lower() for v in spns_of("SERVER1$")}
        assert spn in spns_of("SERVER2$")
        assert not again.changed and again["moved_from"] == []
    finally:
        remove_spns([spn], "SERVER1$")
        remove_spns([spn], "SERVER2$")


# --------------------------------------------------------------------------- check mode, case, purge

def test_check_mode_predicts_exactly_and_writes_nothing(env, scratch_user):
    token = new_token()
    holder = "SPNH%s" % token[:6].upper()
    try:
        create_computer(holder, spns=["HTTP/taken-%s" % token])
        add_spns(scratch_user, "HTTP/old-%s" % token, "MSSQLSvc/db-%s.%s:1433" % (token, DOMAIN))
        args = {"account": scratch_user, "spns": ["HTTP/new-%s" % token, "HTTP/taken-%s" % token], "purge": True,
                "on_conflict": "move"}
        before = snapshot(scratch_user, holder + "$")
        predicted = run_module(SPN, args, env, check=True, diff=True)
        assert not predicted.failed, predicted.msg
        assert snapshot(scratch_user, holder + "$") == before  # not a byte changed, uSNChanged included

        applied, second = run_tasks([task(SPN, args, diff=True), task(SPN, args, diff=True)], env)
        assert not applied.failed, applied.msg
        for key in ("changed", "spns", "added", "removed", "moved_from", "diff"):
            assert applied.result[key] == predicted.result[key], key
        assert sorted(spns_of(scratch_user)) == sorted(predicted["spns"])
        assert sorted(predicted["spns"]) == sorted(["MSSQLSvc/db-%s.%s:1433" % (token, DOMAIN),
                                                    "HTTP/new-%s" % token, "HTTP/taken-%s" % token])
        assert predicted["removed"] == ["HTTP/old-%s" % token]
        assert spns_of(holder + "$") == []
        assert not second.changed and not second.failed and second["spns"] == applied["spns"]
    finally:
        delete_computer(holder)


def test_case_insensitive_comparison_and_purge(env, scratch_user):
    token = new_token()
    mixed = "HTTP/Case-%s.CamTest.Local" % token
    add_spns(scratch_user, mixed, "HTTP/a-%s" % token, "MSSQLSvc/db-%s:1433" % token, "WSMAN/w-%s" % token)
    before = snapshot(scratch_user)
    (same_upper,) = run_tasks([
        task(SPN, {"account": scratch_user, "spns": [mixed.upper(), "http/A-%s" % token.upper()], "purge": True}),
    ], env)
    assert snapshot(scratch_user) == before  # a run with nothing to do writes nothing
    purged, http_cleared, absent_upper = run_tasks([
        task(SPN, {"account": scratch_user, "spns": [mixed, "HTTP/c-%s" % token], "purge": True}),
        task(SPN, {"account": scratch_user, "service_class": "http", "spns": ["WSMAN/w-%s" % token], "purge": True}),
        task(SPN, {"account": scratch_user, "spns": ["wsman/W-%s" % token.upper()], "state": "absent"}),
    ], env)
    assert not same_upper.failed and not same_upper.changed, same_upper.msg
    assert mixed in same_upper["spns"] and mixed.upper() not in same_upper["spns"]  # the stored spelling is kept
    assert purged["removed"] == ["HTTP/a-%s" % token] and purged["added"] == ["HTTP/c-%s" % token]
    assert sorted(http_cleared["removed"]) == sorted([mixed, "HTTP/c-%s" % token])
    assert http_cleared["added"] == []
    assert absent_upper["removed"] == ["WSMAN/w-%s" % token]
    assert spns_of(scratch_user) == ["MSSQLSvc/db-%s:1433" % token]  # a class never named is never touched


# --------------------------------------------------------------------------- refused input, accounts, rights

INVALID = [  # one per rule of the issue; tests/unit covers every variant of each
    ({"spns": ["/x.camtest.local"]}, "spns: '/x.camtest.local' has an empty service class"),
    ({"spns": ["HTTP/x camtest.local"]}, "spns: 'HTTP/x camtest.local' contains whitespace"),
    ({"spns": ["HTTP//x.camtest.local"]}, "spns: 'HTTP//x.camtest.local' contains a double slash"),
    ({"spns": ["HTTP/x.camtest.local:65536"]}, "spns: 'HTTP/x.camtest.local:65536' has port 65536, outside 1-65535"),
    ({"spns": ["HTTP/x.camtest.local/"]}, "ends with an empty service name"),
    ({"hosts": ["sso:8080"]}, "hosts: 'sso:8080' is not a bare host name"),
    ({"spns": ["HTTP/x"], "state": "absent", "purge": True}, "purge=true only applies to state=present"),
]


@pytest.fixture(scope="module")
def battery(lab):
    """One playbook for the one-shot cases: invalid input (refused before any connection: the server is
    unreachable for those tasks), unknown and ambiguous accounts, HOST and port warnings in check mode, a bind
    without rights, a check-mode diff, and a gMSA named without its $. Passwords go as task arguments here, so
    that their absence from the output (results include the censored arguments) means something."""
    env = connection_env(lab)
    admin = env.pop("WINAUTH_AD_PASSWORD")
    token = new_token()
    ambiguous, scratch, gmsa = "amb%s" % token[:6], "spnr-%s" % token, "gmsa%s" % token[:6]
    gmsa_dn = "CN=%s,CN=Managed Service Accounts,%s" % (gmsa, os.environ["LAB_DOMAIN_DN"])
    create_user(ambiguous, "Amb-Pa55-%s!" % token)
    create_computer(ambiguous.upper())
    create_user(scratch, "Spn-Test-%s-Pa55!" % token)
    ldb_add("dn: %s\nobjectClass: msDS-GroupManagedServiceAccount\nsAMAccountName: %s$\ndNSHostName: %s.%s\n"
            "msDS-ManagedPasswordInterval: 30\nuserAccountControl: 4096\n" % (gmsa_dn, gmsa, gmsa, DOMAIN))
    try:
        before = snapshot(scratch)
        tasks = [task(SPN, dict(args, account="cam-svc", server="unreachable.invalid", password=admin))
                 for args, _expected in INVALID]
        tasks += [
            task(SPN, {"account": "nosuch-%s" % token, "spns": ["HTTP/x-%s" % token], "password": admin}),
            task(SPN, {"account": ambiguous, "spns": ["HTTP/x-%s" % token], "password": admin}),
            task(SPN, {"account": scratch, "password": admin,
                       "spns": ["HOST/web-%s.%s" % (token, DOMAIN), "HTTP/web-%s.%s:8443" % (token, DOMAIN)]},
                 check=True, diff=True),
            task(SPN, {"account": "cam-svc", "spns": ["HTTP/rights-%s.%s" % (token, DOMAIN)],
                       "username": WEBOPS[0], "password": WEBOPS[1]}),
            task(SPN, {"account": gmsa, "spns": ["HTTP/app-%s.%s" % (token, DOMAIN)], "password": admin}),
            task(SPN, {"account": "cam-svc@camtest.local", "spns": ["HTTP/upn-%s" % token], "password": admin},
                 check=True),
            task(SPN, {"account": sid_of("cam-svc"), "spns": ["HTTP/sid-%s" % token], "password": admin}, check=True),
        ]
        results = run_tasks(tasks, env)
        after = snapshot(scratch)
        # cam-svc is shared with other engineers' tests: look only for this run's SPNs on it.
        leaked = [v for v in spns_of("cam-svc") if token in v.lower()]
        yield {"token": token, "ambiguous": ambiguous, "scratch": scratch, "gmsa": gmsa, "gmsa_dn": gmsa_dn,
               "gmsa_spns": spns_of(gmsa + "$"), "invalid": results[:len(INVALID)],
               "missing": results[len(INVALID)], "ambiguity": results[len(INVALID) + 1],
               "warned": results[len(INVALID) + 2], "no_rights": results[len(INVALID) + 3],
               "gmsa_result": results[len(INVALID) + 4], "by_upn_and_sid": results[len(INVALID) + 5:],
               "unchanged": after == before and not leaked,
               "passwords": (admin, WEBOPS[1])}
    finally:
        delete_user(ambiguous)
        delete_computer(ambiguous.upper())
        delete_user(scratch)
        ldb_delete(gmsa_dn)


def test_each_invalid_input_fails_before_connecting(battery):
    for (args, expected), result in zip(INVALID, battery["invalid"]):
        assert result.failed, args
        assert expected in result.msg, (args, result.msg)
        assert "; " in result.msg  # the fix follows the problem


def test_account_not_found_and_ambiguous(battery):
    missing, ambiguous = battery["missing"], battery["ambiguity"]
    assert missing.failed
    assert "account=nosuch-%s: no such account in camtest.local" % battery["token"] in missing.msg
    assert ambiguous.failed and "is ambiguous" in ambiguous.msg
    name = battery["ambiguous"]
    assert "CN=%s,CN=Users" % name in ambiguous.msg and "CN=%s,CN=Computers" % name.upper() in ambiguous.msg


def test_bind_without_rights_is_refused_clearly(battery):
    result = battery["no_rights"]
    assert result.failed
    assert "cannot write servicePrincipalName on %s" % dn_of("cam-svc") in result.msg
    assert "webops@camtest.local has no right to change it" in result.msg


def test_host_and_port_warnings_in_check_mode(battery):
    result, token = battery["warned"], battery["token"]
    assert not result.failed and result.changed, result.msg
    assert any("HOST/web-%s.%s is a HOST SPN" % (token, DOMAIN) in w for w in result.warnings)
    assert any("HTTP/web-%s.%s:8443 has a port" % (token, DOMAIN) in w for w in result.warnings)
    assert "HTTP/web-%s.%s:8443" % (token, DOMAIN) in result["diff"]["after"]


def test_refusals_and_check_mode_wrote_nothing_and_leaked_no_secret(battery):
    assert battery["unchanged"]
    output = battery["warned"].output  # the whole playbook output: arguments, results, diffs, warnings, errors
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output  # the task arguments are in it, censored
    for password in battery["passwords"]:
        assert password not in output


def test_account_by_upn_and_by_sid(battery):
    for result in battery["by_upn_and_sid"]:
        assert not result.failed and result.changed, result.msg
        assert result["dn"] == dn_of("cam-svc")


def test_group_managed_service_account_by_name_without_dollar(battery):
    result = battery["gmsa_result"]
    assert not result.failed, result.msg
    assert result["dn"].lower() == battery["gmsa_dn"].lower() and result["sam_account_name"] == battery["gmsa"] + "$"
    assert battery["gmsa_spns"] == ["HTTP/app-%s.%s" % (battery["token"], DOMAIN)]


# --------------------------------------------------------------------------- the hostname trap

def test_hostname_trap_warns_and_kerberos_really_moves(env, scratch_user, tmp_path):
    """HTTP/<a computer's own name> on another account: tickets for that name stop decrypting with the machine key."""
    token = new_token()
    machine = "TRAP%s" % token[:6].upper()
    fqdn = "%s.%s" % (machine.lower(), DOMAIN)
    try:
        create_computer(machine, "Trap-%s-Pa55!" % token, spns=["HOST/%s" % fqdn])
        krb = Kerberos.create(tmp_path)
        krb.kinit(*ALICE)
        machine_keys = krb.export_keytab(machine + "$")
        before = krb.kvno("-k", str(machine_keys), "HTTP/%s" % fqdn)
        assert before.returncode == 0, "the KDC maps HTTP/<host> to the computer's HOST SPN: " + before.stderr

        result = run_module(SPN, {"account": scratch_user, "spns": ["HTTP/%s" % fqdn]}, env)
        assert not result.failed, result.msg
        trap = [w for w in result.warnings if "HTTP/%s names the host" % fqdn in w]
        assert len(trap) == 1, result.warnings
        assert dn_of(machine + "$") in trap[0]
        for way_out in ("WinRM", "own DNS name", "ansible_winrm_service: HOST",
                        "ansible_winrm_kerberos_hostname_override"):
            assert way_out in trap[0]

        (tmp_path / "after").mkdir()
        fresh = Kerberos.create(tmp_path / "after")  # a new cache: the old one holds the machine-key ticket
        fresh.kinit(*ALICE)
        assert fresh.kvno("-k", str(machine_keys), "HTTP/%s" % fqdn).returncode != 0
        assert fresh.kvno("-k", str(fresh.export_keytab(scratch_user)), "HTTP/%s" % fqdn).returncode == 0
    finally:
        delete_computer(machine)


# --------------------------------------------------------------------------- the race the pre-check cannot see

def _admin_connection(lab):
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.connection import connect  # noqa: E402
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import (  # noqa: E402
        ConnectionOptions,
    )

    return connect(ConnectionOptions(server=lab["LAB_DC_HOSTNAME"], auth="simple", tls="ldaps",
                                     username="%s@%s" % (lab["LAB_ADMIN_USER"], lab["LAB_DNS_DOMAIN"]),
                                     password=lab["LAB_ADMIN_PASSWORD"], ca_cert=lab["LAB_CA_CERT"]))


def test_duplicate_registered_after_the_check_is_explained_like_the_check_and_a_move_is_undone(lab, scratch_user):
    """Plan (one forest search), then another writer registers the SPN, then apply: the DC refuses with 0000202F.

    The plan also moves an SPN from a first holder; the refused write of the account must put it back there.
    """
    from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import Conflict  # noqa: E402
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_names import (  # noqa: E402
        build_desired,
    )
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_rules import plan_spns  # noqa: E402
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn import (  # noqa: E402
        apply_spn_plan,
        find_account,
        forest_holders,
    )

    token = new_token()
    raced, moved = "HTTP/race-%s.%s" % (token, DOMAIN), "HTTP/moved-%s.%s" % (token, DOMAIN)
    holder, racer = "RACEH%s" % token[:6].upper(), "RACER%s" % token[:6].upper()
    try:
        create_computer(holder, spns=[moved])
        create_computer(racer)
        with _admin_connection(lab) as conn:
            desired = build_desired([raced, moved], [], None, DOMAIN)
            account = find_account(conn, scratch_user)
            plan = plan_spns(account, desired, "present", holders=forest_holders(conn, desired), on_conflict="move")
            assert plan.to_add == [raced, moved] and list(plan.moves.values()) == [[moved]]
            add_spns(racer + "$", raced)  # another writer, between the check and the write
            with pytest.raises(Conflict) as info:
                apply_spn_plan(conn, plan)
        message = str(info.value)
        assert "%s is already registered on %s (%s$)" % (raced, dn_of(racer + "$"), racer) in message
        assert "registered there after this task checked" in message
        assert "put back on %s" % dn_of(holder + "$") in message
        assert spns_of(scratch_user) == []
        assert spns_of(holder + "$") == [moved]
    finally:
        delete_computer(holder)
        delete_computer(racer)


def test_a_move_whose_second_holder_refuses_puts_the_first_back_and_a_killed_move_is_finished_by_the_next_run(
        lab, env, scratch_user, monkeypatch):
    """Finding: earlier holders were restored only when the final modify failed; a later holder's refused delete
    left the first holder's SPN on no account. And a process killed between the holders' deletes and the
    account's add: the next run registers the SPNs on the account, nothing is lost."""
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn import SpnRequest, ensure_spn
    from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InsufficientRights

    token = new_token()
    first_spn, second_spn = "HTTP/mv1-%s.%s" % (token, DOMAIN), "HTTP/mv2-%s.%s" % (token, DOMAIN)
    first, second = "MVA%s" % token[:6].upper(), "MVB%s" % token[:6].upper()
    request = SpnRequest(account=scratch_user, spns=[first_spn, second_spn], on_conflict="move")
    real_modify = Directory.modify
    try:
        create_computer(first, spns=[first_spn])
        create_computer(second, spns=[second_spn])

        holders_written: list[str] = []

        def refuse_second(conn, dn, changes):
            if dn != dn_of(scratch_user):
                holders_written.append(dn)
                if len(holders_written) == 2:  # the second holder: no write right on it
                    raise InsufficientRights("insufficient access rights writing servicePrincipalName of %s" % dn)
            return real_modify(conn, dn, changes)

        monkeypatch.setattr(Directory, "modify", refuse_second)
        with _admin_connection(lab) as conn, pytest.raises(InsufficientRights) as info:
            ensure_spn(conn, request, False)
        assert "put back on %s" % holders_written[0] in str(info.value), str(info.value)
        assert spns_of(first + "$") == [first_spn] and spns_of(second + "$") == [second_spn]
        assert spns_of(scratch_user) == []

        class Killed(BaseException):
            """The process ends here: no handler of the module runs any more."""

        def killed_before_the_account(conn, dn, changes):
            if dn == dn_of(scratch_user):
                raise Killed()
            return real_modify(conn, dn, changes)

        monkeypatch.setattr(Directory, "modify", killed_before_the_account)
        with _admin_connection(lab) as conn, pytest.raises(Killed):
            ensure_spn(conn, request, False)
        monkeypatch.undo()
        assert spns_of(first + "$") == [] and spns_of(second + "$") == [] and spns_of(scratch_user) == []
        rerun = run_module(SPN, {"account": scratch_user, "spns": [first_spn, second_spn], "on_conflict": "move"},
                           env)
        assert not rerun.failed and rerun.changed, rerun.msg
        assert sorted(spns_of(scratch_user)) == sorted([first_spn, second_spn])
    finally:
        delete_computer(first)
        delete_computer(second)
