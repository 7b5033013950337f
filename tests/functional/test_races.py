"""Concurrent runs on the lab: separate ``ansible`` processes started at once, then the DC's own tools read what
is left (GptTmpl.inf through Samba's parser, GPT.INI on disk, versionNumber and SPNs in the DC's database)."""

from __future__ import annotations

import concurrent.futures
import datetime

import ldap3
import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.connection import connect
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gpt import PENDING_MARKER_NAME, TEMPORARY_MARK
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.lease import (
    LEASE_ATTRIBUTE,
    GpoLease,
    LeaseValue,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import Conflict

from harness.ansible import failed, run_module
from harness.directory import (
    admin_connection,
    connection_env,
    create_user,
    delete_user,
    domain_dn,
    lab,
    ldap_connection,
    ldb_attributes,
    new_token,
    sid_of,
    spn_holders,
)
from harness.gpo import (
    create_gpo_with_samba_tool,
    directory_version,
    gpo_named,
    gpt_ini_version,
    inf_path,
    remove_gpo,
    samba_acl_check,
    samba_parse_inf,
    sysvol_dir,
)

RACERS = 10


def gpo_dn(guid: str) -> str:
    return "CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn())


@pytest.fixture()
def race_gpo():
    guid = create_gpo_with_samba_tool("winauth-test-race-%s" % new_token())
    try:
        yield guid
    finally:
        remove_gpo(guid)


@pytest.fixture()
def racers():
    names = ["race%s%02d" % (new_token()[:4], index) for index in range(RACERS)]
    for name in names:
        create_user(name, "Race-%s-Pa55!" % new_token())
    try:
        yield names
    finally:
        for name in names:
            delete_user(name)


def grant(guid: str, account: str):
    return run_module("webfarm.winauth.gpo_user_rights", {"gpo": guid, "right": "SeBatchLogonRight",
                                                          "accounts": [account]}, env=connection_env(), timeout=600)


def test_ten_concurrent_runs_each_adding_an_account_to_one_gpo_keep_all_ten(race_gpo, racers) -> None:
    guid = race_gpo
    base = directory_version(guid)
    with concurrent.futures.ThreadPoolExecutor(max_workers=RACERS) as pool:  # each one an ansible process
        results = list(pool.map(lambda account: grant(guid, account), racers))
    for account, result in zip(racers, results):
        assert not failed(result) and result["changed"], (account, result.msg, result.output[-3000:])
    # Samba's parser reads all ten; the versions agree and count ten computer-policy edits.
    holders = dict(samba_parse_inf(inf_path(guid))["Privilege Rights"])["SeBatchLogonRight"]
    wanted = {"*" + sid_of(name) for name in racers}
    assert wanted <= set(holders), holders
    assert directory_version(guid) == gpt_ini_version(guid) == base + RACERS
    # Nothing is left behind: no pending marker, no temporary file, no lease.
    left = [p.name for p in sysvol_dir(guid).rglob("*")]
    assert PENDING_MARKER_NAME not in left and not [n for n in left if TEMPORARY_MARK in n], left
    assert ldb_attributes(gpo_dn(guid), LEASE_ATTRIBUTE) == {}


def plant(guid: str, value: str) -> None:
    with ldap_connection() as conn:
        assert conn.modify(gpo_dn(guid), {LEASE_ATTRIBUTE: [(ldap3.MODIFY_REPLACE, [value])]}), conn.result


def test_a_held_lease_makes_a_run_wait_and_fail_writing_nothing_and_an_expired_one_is_taken_over(
        race_gpo, racers) -> None:
    guid = race_gpo
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    held = LeaseValue("a" * 32, now + datetime.timedelta(minutes=10), "other-controller pid 4242")
    plant(guid, held.text())
    files_before = {p.name: p.read_bytes() for p in sysvol_dir(guid).rglob("*") if p.is_file()}
    version_before = directory_version(guid)
    with connect(ConnectionOptions(**admin_connection())) as conn:
        with pytest.raises(Conflict, match="being edited by another run of webfarm.winauth .other-controller pid 4242"):
            GpoLease(conn, gpo_dn(guid), "race", wait=1.5).acquire()
    assert {p.name: p.read_bytes() for p in sysvol_dir(guid).rglob("*") if p.is_file()} == files_before
    assert directory_version(guid) == version_before
    assert ldb_attributes(gpo_dn(guid), LEASE_ATTRIBUTE) == {LEASE_ATTRIBUTE: [held.text()]}

    # A run killed while holding the lease: once its time is over, the next run takes it over and says so.
    stale = LeaseValue("b" * 32, now - datetime.timedelta(minutes=1), "killed-controller pid 99")
    plant(guid, stale.text())
    result = grant(guid, racers[0])
    assert not failed(result) and result["changed"], result.msg
    assert any("took over the edit lease of a run that stopped (killed-controller pid 99)" in w
               for w in result.warnings), result.warnings
    assert ldb_attributes(gpo_dn(guid), LEASE_ATTRIBUTE) == {}
    assert "*" + sid_of(racers[0]) in str(samba_parse_inf(inf_path(guid))["Privilege Rights"])

    # A value another tool keeps in the attribute is never overwritten: the run refuses, naming it.
    plant(guid, "kept by another tool")
    refused = grant(guid, racers[1])
    assert failed(refused) and "adminDescription of GPO" in refused.msg and "kept by another tool" in refused.msg
    assert ldb_attributes(gpo_dn(guid), LEASE_ATTRIBUTE) == {LEASE_ATTRIBUTE: ["kept by another tool"]}


def test_five_concurrent_creates_of_one_name_leave_one_gpo_that_every_run_reports() -> None:
    name = "winauth-test-create-race-%s" % new_token()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:  # each one an ansible process
            results = list(pool.map(lambda _i: run_module("webfarm.winauth.gpo", {"name": name},
                                                          env=connection_env(), timeout=600), range(5)))
        for result in results:
            assert not failed(result), (result.msg, result.output[-3000:])
        guids = gpo_named(name)
        assert len(guids) == 1, guids
        assert {result["guid"] for result in results} == set(guids)
        assert sum(1 for result in results if result["created"]) >= 1
        # The one GPO is whole: a second run has nothing to do, and Samba's ACL check agrees.
        again = run_module("webfarm.winauth.gpo", {"name": name}, env=connection_env())
        assert not failed(again) and not again["changed"] and again["guid"] == guids[0], again.msg
        expected_acl, actual_acl = samba_acl_check(guids[0])
        assert expected_acl == actual_acl
        # No folder of a removed duplicate is left in SYSVOL.
        assert {p.name.upper() for p in sysvol_dir(guids[0]).parent.iterdir()} & {
            r["guid"] for r in results} == set(guids)
    finally:
        for guid in gpo_named(name):
            remove_gpo(guid)


SPN_RACERS = 20


@pytest.fixture()
def spn_racers():
    names = ["spnr%s%02d" % (new_token()[:4], index) for index in range(SPN_RACERS)]
    for name in names:
        create_user(name, "SpnRace-%s-Pa55!" % new_token())
    try:
        yield names
    finally:
        for name in names:
            delete_user(name)


def test_twenty_concurrent_runs_registering_one_spn_on_twenty_accounts_leave_one_holder(spn_racers) -> None:
    spn = "HTTP/race-%s.%s" % (new_token(), lab("LAB_DNS_DOMAIN"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=SPN_RACERS) as pool:  # each one an ansible process
        results = list(pool.map(lambda account: run_module("webfarm.winauth.spn", {"account": account, "spns": [spn]},
                                                           env=connection_env(), timeout=600), spn_racers))
    holders = spn_holders(spn)
    assert len(holders) == 1 and holders[0] in spn_racers, holders
    winners = [account for account, result in zip(spn_racers, results) if not failed(result)]
    assert winners == holders, [(a, r.msg) for a, r in zip(spn_racers, results)]
    for account, result in zip(spn_racers, results):
        if account != holders[0]:
            assert failed(result) and "already registered on" in result.msg and holders[0] in result.msg, \
                (account, result.msg)


def test_a_create_that_loses_the_race_converges_on_the_gpo_another_run_created_meanwhile(monkeypatch) -> None:
    """Deterministic: right after this run looked the name up (none), another ansible process creates the GPO."""
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo import lifecycle
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext

    name = "winauth-test-create-lost-%s" % new_token()
    real_find = lifecycle.find_gpos
    meanwhile = []

    def find_then_another_run_creates(conn, reference):
        found = real_find(conn, reference)
        if reference == name and not meanwhile:
            meanwhile.append(run_module("webfarm.winauth.gpo", {"name": name}, env=connection_env()))
        return found

    monkeypatch.setattr(lifecycle, "find_gpos", find_then_another_run_creates)
    try:
        with connect(ConnectionOptions(**admin_connection())) as conn, GpoContext(conn) as ctx:
            outcome = lifecycle.ensure_gpo(ctx, name, None, "present", False)
        other = meanwhile[0]
        assert not failed(other) and other["created"], other.msg
        assert gpo_named(name) == [other["guid"]]  # one GPO of the name, not two
        assert outcome.result["guid"] == other["guid"] and not outcome.result["created"]
        assert any("another run created GPO %s" % name in w for w in outcome.warnings), outcome.warnings
    finally:
        for guid in gpo_named(name):
            remove_gpo(guid)


def test_a_run_that_arrives_while_a_racing_create_still_holds_its_duplicate_waits_it_out() -> None:
    """Deterministic: the name has its GPO and the bare container another create is about to delete (what five
    racing creates left in CI; here for 5 s, longer than ansible takes to reach the DC): runs of gpo and
    gpo_user_rights wait it out instead of calling the name ambiguous."""
    import threading
    import uuid

    name = "winauth-test-create-inflight-%s" % new_token()
    created = run_module("webfarm.winauth.gpo", {"name": name}, env=connection_env())
    assert not failed(created), created.msg
    duplicate = "{%s}" % str(uuid.uuid4()).upper()
    try:
        with ldap_connection() as conn:
            assert conn.add(gpo_dn(duplicate), "groupPolicyContainer", {
                "displayName": name, "gPCFileSysPath": "\\\\x\\SysVol\\x\\Policies\\%s" % duplicate,
                "versionNumber": "0", "flags": "0", "gPCFunctionalityVersion": "2"}), conn.result
        assert sorted(gpo_named(name)) == sorted([created["guid"], duplicate])

        def the_racer_removes_it() -> None:
            with ldap_connection() as conn:
                conn.delete(gpo_dn(duplicate))

        timer = threading.Timer(5.0, the_racer_removes_it)
        timer.start()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            again, rights = pool.map(lambda call: run_module(*call, env=connection_env()), [
                ("webfarm.winauth.gpo", {"name": name}),
                ("webfarm.winauth.gpo_user_rights",
                 {"gpo": name, "right": "SeBatchLogonRight", "accounts": ["Administrator"], "mode": "add"})])
        timer.join()
        assert not failed(again) and not again["changed"] and again["guid"] == created["guid"], again.msg
        assert not failed(rights) and rights["changed"], rights.msg
        assert gpo_named(name) == [created["guid"]]
    finally:
        for guid in gpo_named(name):
            remove_gpo(guid)


def test_a_planning_read_never_fails_while_another_session_replaces_the_template_or_removes_the_marker(
        race_gpo) -> None:
    """A run that plans (reads without the lease) while another run writes: it renames its new template over the
    old one and, at the end, deletes its pending marker.

    Samba, like Windows, answers an open of a file whose delete is pending with STATUS_DELETE_PENDING until the
    last handle on it closes (the deleting one, or a reader's); opens wait that moment out: a read sees the old
    bytes, the new ones or no file, and the next write of the marker goes through; none fails.
    """
    import threading

    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import get_gpo
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import join

    versions = [b"\xff\xfe" + ("[Unicode]\r\nUnicode=yes\r\n; edit %d\r\n" % n).encode("utf-16-le") for n in (1, 2)]
    done = threading.Event()
    seen: dict[str, list[bytes | None]] = {"template": [], "marker": []}
    errors: list[str] = []

    def reader(sysvol, paths) -> None:
        while not done.is_set():
            for kind, path in paths.items():
                try:
                    seen[kind].append(sysvol.read(path))
                except Exception as exc:  # pylint: disable=broad-except  # counted, reported below
                    errors.append(str(exc))

    with connect(ConnectionOptions(**admin_connection())) as conn, GpoContext(conn) as writer_ctx, \
            GpoContext(conn) as reader_ctx:
        gpo = get_gpo(conn, race_gpo)
        writer, folder = writer_ctx.folder(gpo)
        secedit = join(folder, "Machine", "Microsoft", "Windows NT", "SecEdit")
        paths = {"template": join(secedit, "race.inf"), "marker": join(secedit, PENDING_MARKER_NAME)}
        writer.makedirs(secedit)
        writer.write(paths["template"], versions[0])
        thread = threading.Thread(target=reader, args=(reader_ctx.folder(gpo)[0], paths))
        thread.start()
        try:
            for n in range(150):
                writer.write(paths["marker"], versions[n % 2])
                writer.replace(paths["template"], versions[n % 2], paths["template"] + ".%s%d" % (TEMPORARY_MARK, n))
                writer.remove(paths["marker"])
        finally:
            done.set()
            thread.join()
    assert not errors, (len(errors), {kind: len(reads) for kind, reads in seen.items()}, errors[:3])
    assert seen["template"] and set(seen["template"]) <= set(versions), set(seen["template"]) - set(versions)
    # The marker is written in place (it only ever appears under the lease), so a planning read may also meet it
    # empty; the run that writes reads everything again under the lease.
    assert seen["marker"] and set(seen["marker"]) <= set(versions) | {None, b""}, set(seen["marker"])


def test_a_read_never_fails_while_another_session_rewrites_the_file_in_place(race_gpo) -> None:
    """GPMC and secedit write GPT.INI in place: the file is truncated, then written. A reader that opened it
    before the truncation and reads after it got STATUS_END_OF_FILE (what five racing creates met in CI); the
    read opens the file again and returns bytes some writer wrote whole, or the empty file between the two steps.
    """
    import threading

    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import get_gpo
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import join

    versions = [("[General]\r\nVersion=%d\r\ndisplayName=New Group Policy Object\r\n" % n).encode() * 40
                for n in (1, 2)]
    done = threading.Event()
    seen: list[bytes | None] = []
    errors: list[str] = []

    def reader(sysvol, path) -> None:
        while not done.is_set():
            try:
                seen.append(sysvol.read(path))
            except Exception as exc:  # pylint: disable=broad-except  # counted, reported below
                errors.append(str(exc))

    with connect(ConnectionOptions(**admin_connection())) as conn, GpoContext(conn) as writer_ctx, \
            GpoContext(conn) as reader_ctx:
        gpo = get_gpo(conn, race_gpo)
        writer, folder = writer_ctx.folder(gpo)
        path = join(folder, "race-in-place.ini")
        writer.write(path, versions[0])
        thread = threading.Thread(target=reader, args=(reader_ctx.folder(gpo)[0], path))
        thread.start()
        try:
            for n in range(300):
                writer.write(path, versions[n % 2])
        finally:
            done.set()
            thread.join()
            writer.remove(path)
    assert not errors, (len(errors), len(seen), errors[:3])
    assert seen and set(seen) <= set(versions) | {b""}, {len(data or b"") for data in seen}


def test_five_sessions_creating_one_file_at_once_leave_the_first_whole_and_tell_the_others(race_gpo) -> None:
    """What each racing create does for GPT.INI: the file appears whole or not at all, one session creates it,
    the others are told it exists (and write nothing over it), and no temporary file is left."""
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import get_gpo
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gpt import temporary_name
    from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import join

    with connect(ConnectionOptions(**admin_connection())) as conn:
        gpo = get_gpo(conn, race_gpo)
        contexts = [GpoContext(conn) for _n in range(5)]
        try:
            sessions = [ctx.folder(gpo)[0] for ctx in contexts]
            folder = contexts[0].folder(gpo)[1]
            path = join(folder, "race-create.ini")
            bodies = [("[General]\r\nVersion=0\r\n; session %d\r\n" % n).encode() for n in range(5)]
            with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
                created = list(pool.map(lambda n: sessions[n].create(
                    path, bodies[n], join(folder, temporary_name("race-create.ini", "s%d" % n))), range(5)))
            assert created.count(True) == 1, created
            assert sessions[0].read(path) == bodies[created.index(True)]
            assert [name for name, _folder in sessions[0].listdir(folder) if TEMPORARY_MARK in name] == []
            sessions[0].remove(path)
        finally:
            for ctx in contexts:
                ctx.close()
