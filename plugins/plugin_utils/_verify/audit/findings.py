# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""One finding of the farm audit, as every rule module builds it. Pure logic, no I/O."""

from __future__ import annotations

import typing as t

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def finding(fid: str, severity: str, node: str | None, title: str, detail: str, fix: str,
            **subjects: t.Any) -> dict[str, t.Any]:
    """``id``, ``severity``, ``node`` (None: the farm), ``title``, ``detail``, ``fix``, and what it concerns."""
    result = {"id": fid, "severity": severity, "node": node, "title": title, "detail": detail, "fix": fix}
    result.update({k: v for k, v in subjects.items() if v is not None})
    return result
