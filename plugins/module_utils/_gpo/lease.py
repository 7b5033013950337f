# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""A lease on one GPO, taken with a compare-and-swap in the directory before SYSVOL is touched.

SYSVOL has no transactions: two runs that read GptTmpl.inf, change it and write it back lose one
of the two edits. So a run that is about to write a GPO first takes a lease in the GPO's container:
``adminDescription`` (single-valued, present on every object, used by no Group Policy tool) is
set from empty to this run's token with an add-only modify, which the DC accepts for exactly one
of several runs at a time. The value says who holds it and until when (by the DC's clock); a
lease whose time is over belongs to a run that stopped (killed, connection lost) and is taken over
with a delete-old + add-new modify, again accepted for one run only. The lease is released by
deleting the run's own value, never another's.

The lease orders webfarm.winauth runs bound to the same DC; edits by other tools are still caught
by the compare-and-swap of ``versionNumber`` and the extension list.
"""

from __future__ import annotations

import datetime
import os
import random
import re
import socket
import time
import typing as t
import uuid
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._windows import ldap_codes as codes
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import Conflict, WinauthError

LEASE_ATTRIBUTE = "adminDescription"
LEASE_SECONDS = 120
_PREFIX = "webfarm.winauth GPO edit lease"
_VALUE_RE = re.compile(r"%s token=(?P<token>[0-9a-f]{32}) until=(?P<until>\d{14})Z holder=(?P<holder>[^\r\n]*)"
                       % re.escape(_PREFIX))


# --------------------------------------------------------------------------- the value (pure)

@dataclass(frozen=True)
class LeaseValue:
    """What the directory holds while a run edits a GPO."""

    token: str
    until: datetime.datetime
    holder: str

    def text(self) -> str:
        until = self.until.strftime("%Y%m%d%H%M%S")
        return "%s token=%s until=%sZ holder=%s" % (_PREFIX, self.token, until, self.holder)

    def expired(self, now: datetime.datetime) -> bool:
        return now >= self.until


def parse_lease(value: str | None) -> LeaseValue | None:
    """The lease a directory value holds; None for a value that is not one of ours."""
    match = _VALUE_RE.fullmatch(value or "")
    if not match:
        return None
    until = datetime.datetime.strptime(match.group("until"), "%Y%m%d%H%M%S").replace(tzinfo=datetime.timezone.utc)
    return LeaseValue(match.group("token"), until, match.group("holder"))


def parse_generalized_time(value: str | None) -> datetime.datetime | None:
    """``20261203133000.0Z`` (the rootDSE's currentTime) -> an aware UTC datetime; None when unreadable."""
    match = re.match(r"^(\d{14})", value or "")
    if not match:
        return None
    return datetime.datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=datetime.timezone.utc)


# --------------------------------------------------------------------------- taking and releasing it

class GpoLease:
    """``with GpoLease(conn, dn, name):`` holds the GPO's lease for the block (waits for another run's)."""

    def __init__(self, conn: Directory, dn: str, name: str, seconds: int = LEASE_SECONDS,
                 wait: float | None = None, sleep: t.Callable[[float], None] = time.sleep) -> None:
        self.conn = conn
        self.dn = dn
        self.name = name
        self.seconds = seconds
        self.wait = seconds + 30.0 if wait is None else wait
        self._sleep = sleep
        self.value: LeaseValue | None = None
        self.took_over: LeaseValue | None = None

    def _now(self) -> datetime.datetime:
        """The DC's clock (the rootDSE's currentTime), so that controllers with skewed clocks agree."""
        entry = self.conn.read("", ["currentTime"])
        now = parse_generalized_time(entry.text("currentTime") if entry else None)
        return now or datetime.datetime.now(datetime.timezone.utc)

    def _current(self) -> str | None:
        entry = self.conn.read(self.dn, [LEASE_ATTRIBUTE])
        return entry.text(LEASE_ATTRIBUTE) if entry else None

    def acquire(self) -> LeaseValue:
        deadline = time.monotonic() + self.wait
        holder = "%s pid %d" % (socket.gethostname()[:64], os.getpid())
        while True:
            current = self._current()
            held = parse_lease(current)
            if current and held is None:
                raise Conflict("%s of GPO %s (%s) holds %r, which is not a webfarm.winauth lease: the GPO cannot be "
                               "edited safely while another tool keeps a value there; clear the attribute (after "
                               "checking who set it) and run again" % (LEASE_ATTRIBUTE, self.name, self.dn, current))
            now = self._now()
            if held is None or held.expired(now):
                mine = LeaseValue(uuid.uuid4().hex, now + datetime.timedelta(seconds=self.seconds), holder)
                try:
                    self.conn.swap(self.dn, LEASE_ATTRIBUTE, current, mine.text())
                except Conflict:
                    continue  # another run took it first: read who, and wait for it like for any holder
                except WinauthError as exc:
                    # Adding a second value to a single-valued attribute: some DCs answer constraintViolation.
                    if codes.code_of(getattr(exc, "ldap_result", None)) != codes.CONSTRAINT_VIOLATION or \
                            time.monotonic() >= deadline:
                        raise
                    continue
                self.value, self.took_over = mine, held
                return mine
            if time.monotonic() >= deadline and held is not None:
                raise Conflict("GPO %s is being edited by another run of webfarm.winauth (%s, lease until %s UTC by "
                               "the DC's clock); nothing was written: run again when it has finished"
                               % (self.name, held.holder, held.until.strftime("%Y-%m-%d %H:%M:%S")))
            self._sleep(random.uniform(0.1, 0.6))

    def release(self) -> None:
        """Delete this run's value (only that value: a lease taken over meanwhile stays its new holder's)."""
        if self.value is None:
            return
        mine, self.value = self.value, None
        try:
            self.conn.swap(self.dn, LEASE_ATTRIBUTE, mine.text(), None)
        except Conflict:
            pass  # it expired and another run holds it now

    def __enter__(self) -> "GpoLease":
        self.acquire()
        return self

    def __exit__(self, exc_type: t.Any, *exc_info: t.Any) -> None:
        try:
            self.release()
        except WinauthError:
            if exc_type is None:
                raise
            # The block failed already (a dropped connection, most often): its error is the one to report;
            # the lease expires by itself.
