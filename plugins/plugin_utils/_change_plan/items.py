# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The pieces of a plan: one change (before -> after, in words), and what one task result says."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from .risks import Risk

ARROW = "\u2192"


@dataclass
class Change:
    """One change, as a reviewer reads it.

    ``object`` names what changes independently of the host (``iis:<section>@<location>:<attribute>``,
    ``spn:<value>``, ``gpo:<name>:link``): a later journal keys its before-values on it.
    """

    kind: str
    object: str
    text: str
    before: str | None = None
    after: str | None = None
    risks: list[Risk] = field(default_factory=list)
    secret: bool = False

    def to_dict(self) -> dict[str, t.Any]:
        return {"kind": self.kind, "object": self.object, "text": self.text, "before": self.before,
                "after": self.after, "secret": self.secret}


@dataclass
class View:
    """What one task result says: its changes, what it found already right, warnings, risks, a failure."""

    changes: list[Change] = field(default_factory=list)
    right: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)       # risks not tied to one change (a right not effective)
    failure: str = ""
    summary: list[str] = field(default_factory=list)      # a role's change-record paragraph for the node
    edits: list[str] | None = None                        # what the record compares with the plan (None: unknown)


def on_off(value: str | None) -> str | None:
    """IIS's true/false as an admin says it of an authentication: on/off (markers such as "(default)" kept)."""
    if value is None:
        return None
    head, _sep, tail = value.partition(" ")
    word = {"true": "on", "false": "off"}.get(head.lower(), head)
    return word + (" " + tail if tail else "")


def transition(label: str, before: str | None, after: str | None) -> str:
    """'label: before -> after', or 'label: set to after' when the value before was not read."""
    if before is None:
        return "%s: set to %s" % (label, after)
    return "%s: %s %s %s" % (label, before, ARROW, after)
