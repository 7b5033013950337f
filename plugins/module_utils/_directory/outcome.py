# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""What an ``ensure_*`` engine returns to its module: the result, the diff and the warnings of one task."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field


@dataclass
class Outcome:
    """``result`` holds the module's return values (``changed`` is added from ``changed``); no secrets anywhere."""

    changed: bool = False
    result: dict[str, t.Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    diff: dict[str, str] | None = None
