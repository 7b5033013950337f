# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Group Policy refresh on a web node and checks of who effectively holds user rights there (pure logic).

``policy_refresh`` runs ``gpupdate /force`` through the ``gpupdate`` remote script and reads the
effective holders of user rights through ``user_rights`` (``secedit /export /mergedpolicy``): both
are answered as ``{"sid", "name"}`` entries. This module validates the options, matches required
accounts against those entries and words the failures. No I/O here.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.inf import InfError, canonical_right
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.principals import well_known_sid
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import is_sid, normalize_sid

POLICY_REFRESH_SPEC: dict[str, t.Any] = {
    "refresh": {"type": "bool", "default": True},
    "target": {"type": "str", "default": "computer", "choices": ["computer", "user", "both"]},
    "wait": {"type": "int", "default": 600},
    "rights": {"type": "list", "elements": "str", "default": []},
    "require": {"type": "dict", "aliases": ["expect_holders"]},
}


class PolicyCheckError(InvalidInput):
    """Options that cannot be used (the message names the option, the value and the fix)."""


def check_wait(value: t.Any, option: str = "wait") -> None:
    """gpupdate's /wait: 0 to 600 seconds (PolicyCheckError naming ``option`` otherwise)."""
    if not 0 <= int(value) <= 600:
        raise PolicyCheckError("%s=%s: gpupdate waits 0 to 600 seconds. Fix: use a value in that range"
                               % (option, value))


def check_options(args: dict[str, t.Any]) -> tuple[list[str], dict[str, list[str]]]:
    """(rights to read, required holders by right), canonically spelled; PolicyCheckError on bad input."""
    check_wait(args.get("wait", 600))
    rights: list[str] = []
    for name in args.get("rights") or []:
        try:
            right = canonical_right(str(name))
        except InfError as exc:
            raise PolicyCheckError("rights: %s" % exc) from None
        if right not in rights:
            rights.append(right)
    required: dict[str, list[str]] = {}
    for name, accounts in (args.get("require") or {}).items():
        try:
            right = canonical_right(str(name))
        except InfError as exc:
            raise PolicyCheckError("require: %s" % exc) from None
        if isinstance(accounts, str):
            accounts = [accounts]
        if not isinstance(accounts, (list, tuple)) or not accounts or not all(
                isinstance(a, str) and a.strip() for a in accounts):
            raise PolicyCheckError("require.%s must list the accounts that must hold it, e.g. [CAMTEST\\cam-svc]"
                                   % right)
        required.setdefault(right, []).extend(a.strip() for a in accounts)
        if right not in rights:
            rights.append(right)
    if not args.get("refresh", True) and not rights:
        raise PolicyCheckError("refresh=false with no rights and no require has nothing to do. Fix: list rights to "
                               "report, or require holders")
    return rights, required


def _split(account: str) -> tuple[str, str]:
    """(domain, account name) of DOMAIN\\name, name@domain.example or name (domain '' when not given)."""
    account = account.strip()
    if "\\" in account:
        domain, name = account.split("\\", 1)
        return domain.lower(), name.lower()
    if "@" in account:
        name, domain = account.rsplit("@", 1)
        return domain.lower(), name.lower()
    return "", account.lower()


def _same_domain(left: str, right: str) -> bool:
    """NetBIOS and DNS spellings of a domain agree on their first label (CAMTEST, camtest.local)."""
    if not left or not right:
        return True
    return left == right or left.split(".")[0] == right.split(".")[0]


def holder_matches(required: str, holder: dict[str, t.Any]) -> bool:
    """Whether a holder entry ({"sid", "name"}) is the account a play requires."""
    sid = str(holder.get("sid") or "").upper()
    if is_sid(required):
        return bool(sid) and normalize_sid(required) == sid
    known = well_known_sid(required)
    if known:
        return sid == known or (not sid and str(holder.get("name") or "").lower() == required.lower())
    name = str(holder.get("name") or "")
    if not name:
        return False
    want_domain, want_name = _split(required)
    have_domain, have_name = _split(name)
    return want_name == have_name and _same_domain(want_domain, have_domain)


def missing_holders(holders: t.Sequence[dict[str, t.Any]], required: t.Sequence[str]) -> list[str]:
    return [account for account in required if not any(holder_matches(account, h) for h in holders)]


def missing_rights(holders: dict[str, list[dict[str, t.Any]]], required: dict[str, list[str]]) -> dict[str, list[str]]:
    """The required accounts that do not hold each right (only the rights some account lacks)."""
    missing = {right: missing_holders(holders.get(right, []), accounts) for right, accounts in required.items()}
    return {right: accounts for right, accounts in missing.items() if accounts}


def describe_holders(holders: t.Sequence[dict[str, t.Any]]) -> str:
    return ", ".join(str(h.get("name") or h.get("sid")) for h in holders) or "nobody"


def missing_message(node: str, right: str, missing: t.Sequence[str], holders: t.Sequence[dict[str, t.Any]]) -> str:
    text = ("%s: %s is not held by %s (effective holders: %s). Fix: grant %s to %s in a GPO linked to the OU of "
            "%s's computer account (webfarm.winauth.gpo_user_rights, webfarm.winauth.gpo_link), then refresh policy"
            % (node, right, ", ".join(missing), describe_holders(holders), right, ", ".join(missing), node))
    if right == "SeBatchLogonRight":
        text += ("; an application pool that runs as an account without it cannot start its worker process and "
                 "the site answers 503")
    return text


def rights_failure(node: str, missing: dict[str, list[str]], holders: dict[str, list[dict[str, t.Any]]]) -> list[str]:
    """One message per right some required account lacks."""
    return [missing_message(node, right, accounts, holders.get(right, [])) for right, accounts in missing.items()]


def gpupdate_failure(node: str, refreshed: dict[str, t.Any]) -> str:
    output = " ".join(refreshed.get("output") or []) or "no output"
    return "%s: gpupdate /force failed (rc %s): %s" % (node, refreshed.get("rc"), output)


def gpupdate_warnings(node: str, refreshed: dict[str, t.Any] | None) -> list[str]:
    if refreshed is not None and refreshed.get("restart_required"):
        return ["%s: gpupdate reports that some policy needs a restart or log off to apply" % node]
    return []
