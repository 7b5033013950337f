"""webfarm.winauth.password_check against the lab's Samba AD DC: one AS exchange, the lockout guard, one line each.

The lockout threshold comes from a password settings object applied to the test's own user only, so the
shared lab's domain policy is never changed.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from harness import directory
from harness.ansible import run_module, run_tasks, task

MODULE = "webfarm.winauth.password_check"


def _count(name: str) -> int:
    values = directory.ldb_values("(sAMAccountName=%s)" % name, "badPwdCount")
    return int(values[0]) if values else 0


@pytest.fixture()
def account(token):
    """A user with a password of its own; (sAMAccountName, password, DOMAIN\\name)."""
    name, password = "pwc-%s" % token, "Pwc-R1ght-%s!" % token
    directory.create_user(name, password)
    yield name, password, "%s\\%s" % (directory.lab("LAB_NETBIOS"), name)
    directory.delete_user(name)


@pytest.fixture()
def threshold_three(account):
    """The test's user locks after three failed logons (a password settings object on it alone)."""
    with directory.lockout_threshold(account[0], 3) as pso:
        yield pso


def _wrong_kinit(name: str, tmp_path) -> None:
    """A failed logon behind the module's back (kinit with a wrong password)."""
    subprocess.run(["kinit", "%s@%s" % (name, directory.lab("LAB_REALM"))], input="Wrong-By-Hand-1!\n", text=True,
                   capture_output=True, check=False,
                   env=dict(os.environ, KRB5CCNAME="FILE:%s" % (tmp_path / "hand-ccache")))


def test_the_right_password_is_proven_in_check_mode_too_and_no_cache_is_written(account, admin_connection,
                                                                                tmp_path) -> None:
    name, password, spelled = account
    ccache = tmp_path / "ccache"
    env = {"KRB5CCNAME": "FILE:%s" % ccache}
    for check in (False, True):
        result = run_module(MODULE, dict(admin_connection, account=spelled, account_password=password), env=env,
                            check=check)
        assert not result.failed, result.output
        assert result["changed"] is False and result["proven"] is True
        assert result["principal"] == "%s@%s" % (name, directory.lab("LAB_REALM"))
        assert result["account"]["name"] == spelled and result["account"]["attempts_left"] is None
        assert password not in result.output
    assert not ccache.exists()


def test_a_wrong_password_fails_naming_the_account_and_costs_one_failed_logon(account, admin_connection,
                                                                              threshold_three) -> None:
    name, password, spelled = account
    wrong = "Not-The-Password-%s!" % name
    before = _count(name)
    result = run_module(MODULE, dict(admin_connection, account=spelled, account_password=wrong), verbosity=3)
    assert result.failed
    assert result["msg"].startswith("the password given as account_password is not the password of %s " % spelled)
    assert wrong not in result.output and password not in result.output
    assert _count(name) - before == 1
    assert result["account"]["bad_password_count"] == before + 1 and result["account"]["attempts_left"] == 2
    assert result["msg"].endswith("(%s now has 1 failed logon(s) of the 3 that lock it)" % spelled)


def test_one_failure_from_lockout_nothing_is_tried(account, admin_connection, threshold_three, tmp_path) -> None:
    name, password, spelled = account
    wrong = dict(admin_connection, account=spelled, account_password="Not-It-%s!" % name)
    first = run_module(MODULE, wrong)
    assert first.failed and "1 failed logon(s) of the 3 that lock it" in first["msg"], first.output
    second = run_module(MODULE, wrong)
    assert second.failed and "2 failed logon(s) of the 3" in second["msg"]
    assert _count(name) == 2
    for args in (wrong, dict(wrong, account_password=password)):
        refused = run_module(MODULE, args)
        assert refused.failed
        assert refused["msg"].startswith("account %s has 2 failed logon(s) of the 3 that lock it (password settings "
                                         "object CN=%s," % (spelled, threshold_three)), refused["msg"]
        assert "was not tried" in refused["msg"]
    assert _count(name) == 2
    # Locked out behind the module's back: one line, nothing tried.
    _wrong_kinit(name, tmp_path)
    assert _count(name) == 3
    locked = run_module(MODULE, dict(wrong, account_password=password))
    assert locked.failed and locked["msg"].startswith("account %s is locked out" % spelled), locked["msg"]
    assert _count(name) == 3


def test_a_disabled_account_and_an_expired_password_fail_in_one_line_each(account, admin_connection) -> None:
    name, password, spelled = account
    args = dict(admin_connection, account=spelled, account_password=password)
    directory.ldb_modify("dn: %s\nchangetype: modify\nreplace: pwdLastSet\npwdLastSet: 0\n" % directory.dn_of(name))
    expired = run_tasks([task("password_check", args)])[0]
    assert expired.failed and expired["msg"].startswith("the password of account %s has expired" % spelled)
    directory.samba_tool("user", "disable", name)
    disabled = run_tasks([task("password_check", args)])[0]
    assert disabled.failed and disabled["msg"].startswith("account %s is disabled" % spelled), disabled["msg"]
    assert _count(name) == 0
    for result in (expired, disabled):
        assert "\n" not in result["msg"] and password not in result.output
