"""The GPO edit lease: its value, and the compare-and-swap protocol against a directory that applies it."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.lease import (
    GpoLease,
    LeaseValue,
    parse_generalized_time,
    parse_lease,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import Conflict

NOW = datetime.datetime(2026, 12, 3, 13, 30, tzinfo=datetime.timezone.utc)
DN = "CN={31B2F340-016D-11D2-945F-00C04FB984F9},CN=Policies,CN=System,DC=camtest,DC=local"


class _Entry:
    def __init__(self, values: dict) -> None:
        self.values = values

    def text(self, name: str):
        return self.values.get(name)


class CasDirectory:
    """A directory of one attribute that applies delete-old + add-new as the DC does: all or nothing."""

    def __init__(self, value: str | None = None, now: datetime.datetime = NOW) -> None:
        self.value = value
        self.now = now
        self.swaps = 0

    def read(self, dn, attributes):
        if dn == "":
            return _Entry({"currentTime": self.now.strftime("%Y%m%d%H%M%S.0Z")})
        return _Entry({"adminDescription": self.value})

    def swap(self, dn, attribute, old, new):
        self.swaps += 1
        if (old or None) != self.value:
            raise Conflict("%s of %s was changed by someone else" % (attribute, dn))
        self.value = new


def test_a_lease_value_reads_back_and_nothing_else_is_taken_for_one() -> None:
    value = LeaseValue("0123456789abcdef0123456789abcdef", NOW, "ctl1 pid 7")
    assert parse_lease(value.text()) == value
    assert value.expired(NOW) and not value.expired(NOW - datetime.timedelta(seconds=1))
    for other in (None, "", "GPO for the web farm", value.text() + "\n", value.text().replace("token=", "token=x")):
        assert parse_lease(other) is None
    assert parse_generalized_time("20261203133000.0Z") == NOW
    assert parse_generalized_time("soon") is None


def test_the_lease_is_taken_from_empty_and_released_by_value() -> None:
    directory = CasDirectory()
    with GpoLease(directory, DN, "web farm") as lease:
        held = parse_lease(directory.value)
        assert held == lease.value and held.until == NOW + datetime.timedelta(seconds=120)
        assert lease.took_over is None
    assert directory.value is None


def test_a_live_lease_is_waited_for_then_refused_and_an_expired_one_taken_over() -> None:
    live = LeaseValue("a" * 32, NOW + datetime.timedelta(seconds=30), "ctl2 pid 9")
    directory = CasDirectory(live.text())
    naps: list[float] = []
    with pytest.raises(Conflict, match="being edited by another run of webfarm.winauth .ctl2 pid 9"):
        GpoLease(directory, DN, "web farm", wait=0, sleep=naps.append).acquire()
    assert directory.value == live.text()
    directory.now = NOW + datetime.timedelta(seconds=31)
    lease = GpoLease(directory, DN, "web farm", wait=0)
    lease.acquire()
    assert lease.took_over == live and parse_lease(directory.value) == lease.value


def test_a_lost_race_waits_for_the_winner_and_a_release_never_removes_anothers_lease() -> None:
    directory = CasDirectory()
    winner = LeaseValue("c" * 32, NOW + datetime.timedelta(seconds=60), "ctl3 pid 1")
    real_swap = directory.swap

    def racing_swap(dn, attribute, old, new):
        if directory.value is None and new and "ctl3" not in new:
            directory.value = winner.text()  # another run's add landed first
        return real_swap(dn, attribute, old, new)

    directory.swap = racing_swap
    with pytest.raises(Conflict, match="ctl3 pid 1"):
        GpoLease(directory, DN, "web farm", wait=0).acquire()
    mine = GpoLease(CasDirectory(), DN, "web farm")
    mine.acquire()
    mine.conn.value = winner.text()  # expired and taken over meanwhile
    mine.release()
    assert mine.conn.value == winner.text()


def test_a_foreign_value_is_refused_naming_the_attribute() -> None:
    with pytest.raises(Conflict, match="adminDescription of GPO web farm .* holds 'notes', which is not a"):
        GpoLease(CasDirectory("notes"), DN, "web farm").acquire()
