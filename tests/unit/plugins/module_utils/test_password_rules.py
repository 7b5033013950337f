"""Unit tests of the password check's pure rules: when a password may be tried, and the one line for each refusal."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._directory import password_rules as R
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.credentials import KDC_REASONS

NOW = R.filetime(1_800_000_000)
MINUTE = 60 * R.TICKS_PER_SECOND
SECRET = "Never-Shown-9!"


def state(**values) -> R.AccountState:
    return R.AccountState(name="CAMTEST\\cam-svc", **values)


@pytest.mark.parametrize("values, words", [
    ({"user_account_control": 0x202}, "is disabled"),
    ({"computed_control": R.UF_LOCKOUT}, "is locked out"),
    ({"computed_control": R.UF_PASSWORD_EXPIRED}, "has expired"),
])
def test_an_account_that_cannot_log_on_is_refused_in_one_line_naming_it(values, words) -> None:
    with pytest.raises(R.AccountUnusable) as caught:
        R.guard(state(**values), NOW)
    assert words in str(caught.value) and "CAMTEST\\cam-svc" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_no_lockout_policy_means_any_count_may_try() -> None:
    R.guard(state(bad_password_count=40), NOW)
    assert R.attempts_left(state(bad_password_count=40), NOW) is None


def test_one_failure_from_the_threshold_is_refused_two_away_is_tried() -> None:
    R.guard(state(bad_password_count=3, lockout_threshold=5, bad_password_time=NOW - MINUTE,
                  observation_window=30 * MINUTE), NOW)
    with pytest.raises(R.AttemptRefused) as caught:
        R.guard(state(bad_password_count=4, lockout_threshold=5, bad_password_time=NOW - MINUTE,
                      observation_window=30 * MINUTE), NOW)
    assert "4 failed logon(s) of the 5" in str(caught.value) and "was not tried" in str(caught.value)


def test_a_threshold_of_one_never_tries() -> None:
    with pytest.raises(R.AttemptRefused):
        R.guard(state(lockout_threshold=1), NOW)


def test_failures_older_than_the_observation_window_are_forgotten() -> None:
    old = state(bad_password_count=4, lockout_threshold=5, bad_password_time=NOW - 31 * MINUTE,
                observation_window=30 * MINUTE)
    assert R.effective_bad_count(old, NOW) == 0
    assert R.attempts_left(old, NOW) == 5
    R.guard(old, NOW)


def test_ad_durations_are_negative_intervals_and_the_minimum_means_never() -> None:
    assert R.interval(-30 * MINUTE) == 30 * MINUTE
    assert R.interval(None) == 0
    assert R.interval(-(2 ** 63)) == 2 ** 63 - 1


@pytest.mark.parametrize("reason", sorted(set(KDC_REASONS.values()) | {"other"}))
def test_every_kdc_refusal_names_the_account_and_the_fix_never_the_password(reason) -> None:
    line = R.refused("CAMTEST\\cam-svc", reason, "Preauthentication failed -1765328360", "account_password")
    assert "CAMTEST\\cam-svc" in line and "Fix:" in line and SECRET not in line and "\n" not in line


def test_a_wrong_password_names_the_parameter() -> None:
    line = R.refused("CAMTEST\\cam-svc", "wrong_password", "x", "account_password")
    assert line.startswith("the password given as account_password is not the password of CAMTEST\\cam-svc")


def test_the_kdc_error_codes_are_mit_krb5s() -> None:
    # ERROR_TABLE_BASE_krb5 + 24 is what MIT krb5 reports for KDC_ERR_PREAUTH_FAILED (seen: -1765328360).
    assert KDC_REASONS[-1765328360] == "wrong_password"
    assert KDC_REASONS[-1765328366] == "revoked"
    assert KDC_REASONS[-1765328361] == "expired"
