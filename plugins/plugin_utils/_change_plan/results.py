# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""What the change plan keeps of a task result: an allow-list of keys per module, secrets masked.

A plan is shown to people who must not see secrets, at any verbosity. So nothing is copied from a
result unless it is listed here (``invocation``, ``_ansible_*`` and unknown keys never are), and
every string kept is scrubbed of the secret values the run knows (extra vars named like a secret).
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

COLLECTION = "webfarm.winauth."

DIRECTORY_ACTIONS = frozenset({"spn", "spn_info", "delegation", "kerberos_encryption", "gmsa_access", "gpo",
                               "gpo_user_rights", "gpo_link", "domain_info"})
NODE_ACTIONS = frozenset({"web_auth", "app_pool", "arr_farm", "policy_refresh", "web_node"})
VERIFY_ACTIONS = frozenset({"farm_audit", "negotiate_probe"})

_COMMON = ("changed", "failed", "skipped", "unreachable", "msg", "warnings", "diff", "changes", "censored")
# The module-specific keys of each RETURN (plugins/modules/*.py) that the plan reads.
_KEEP: dict[str, tuple[str, ...]] = {
    "spn": ("dn", "sam_account_name", "spns", "added", "removed", "moved_from", "spns_before", "object_sid",
            "object_guid", "holders_before"),
    "spn_info": ("queries", "duplicates"),
    "delegation": ("dn", "sam_account_name", "allowed_to_delegate_to", "protocol_transition", "unconstrained",
                   "rbcd_principals", "user_account_control", "before"),
    "kerberos_encryption": ("dn", "sam_account_name", "supported_encryption_types", "flags", "previous_flags",
                            "supported_encryption_types_before", "object_sid"),
    "gmsa_access": ("dn", "sam_account_name", "object_sid", "principals", "denied", "allowed_principals",
                    "allowed_principals_before"),
    "gpo": ("guid", "name", "dn", "created", "repaired", "unlinked", "version", "repairs", "before"),
    "gpo_user_rights": ("gpo", "right", "defined", "holders", "version", "defined_before", "holders_before",
                        "machine_extensions_before", "version_before"),
    "gpo_link": ("gpo", "target", "target_kind", "link_order", "links", "scope", "links_before", "gplink_before",
                 "link_created"),
    "domain_info": ("domain", "dc", "global_catalog", "bind"),
    "web_auth": ("location", "application", "before", "after"),
    "app_pool": ("name", "existed", "exists", "runtime_state", "runtime_state_before", "identity", "username",
                 "applications", "before", "after", "identity_before", "username_before", "password_changed"),
    "arr_farm": ("farm", "rules", "before", "after"),
    "policy_refresh": ("refreshed", "gpupdate", "rights", "missing"),
    "web_node": ("location", "application", "authentication", "app_pool", "before", "after", "refresh", "refreshed",
                 "gpupdate", "rights", "missing"),
    "farm_audit": ("findings", "summary"),
    "negotiate_probe": ("ok", "url", "status", "mechanism", "spn", "backend", "backends"),
}
# Keys of nested dicts that are never kept (gpupdate's localised output says nothing a reviewer needs).
_DROP_NESTED = frozenset({"output"})

SECRET_NAME_DEFAULT = ("pass", "pw", "secret", "token", "key", "credential", "vault")
MASK = "(secret)"
MIN_SECRET_LENGTH = 4


@dataclass
class Observation:
    """One task result of a webfarm.winauth module, action or role task, reduced to what a plan may show."""

    host: str
    task: str
    action: str                 # the FQCN that ran, e.g. webfarm.winauth.web_auth, ansible.builtin.assert
    role: str = ""              # webfarm.winauth.lb_farm for a task of the collection's roles
    status: str = "ok"          # ok | changed | failed | skipped | unreachable
    handler: bool = False
    delegated: bool = False     # ran on delegate_to (the directory tasks of the roles)
    result: dict[str, t.Any] = field(default_factory=dict)
    once: bool = False          # run_once: a check of the whole run (the roles' input checks), not of one node

    @property
    def module(self) -> str:
        """The collection's module name (web_auth) or "" for a task of another collection."""
        return self.action[len(COLLECTION):] if self.action.startswith(COLLECTION) else ""

    @property
    def plane(self) -> str:
        if self.module in DIRECTORY_ACTIONS:
            return "directory"
        if self.module in NODE_ACTIONS or self.module in VERIFY_ACTIONS:
            return "node"
        if self.delegated:
            return "directory"
        return "run" if self.once else "node"

    @property
    def changed(self) -> bool:
        return self.status == "changed"

    def to_dict(self) -> dict[str, t.Any]:
        return {"host": self.host, "task": self.task, "action": self.action, "role": self.role,
                "status": self.status, "handler": self.handler, "delegated": self.delegated, "once": self.once,
                "result": self.result}


def is_ours(action: str, role: str) -> bool:
    """A task the plan collects: a module or action of the collection, or any task of its roles."""
    return action.startswith(COLLECTION) or role.startswith(COLLECTION)


def secret_name(name: str, patterns: t.Sequence[str] = SECRET_NAME_DEFAULT) -> bool:
    lowered = name.lower()
    return any(pattern.lower() in lowered for pattern in patterns)


def secret_values(values: t.Iterable[t.Any]) -> list[str]:
    """The strings to scrub from every text of the plan (longest first, so no secret is left half-masked)."""
    found: set[str] = set()

    def walk(value: t.Any) -> None:
        if isinstance(value, str):
            if len(value) >= MIN_SECRET_LENGTH:
                found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif value is not None and not isinstance(value, (bool, int, float)):
            walk(str(value))
    for value in values:
        walk(value)
    return sorted(found, key=lambda s: (-len(s), s))


def scrub(value: t.Any, secrets: t.Sequence[str]) -> t.Any:
    """A copy of a JSON-like value with every secret string replaced by the mask."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {scrub(str(k), secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, secrets) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return scrub(str(value), secrets)


def _plain(value: t.Any) -> t.Any:
    """JSON-able copy: dicts and lists kept, anything else a string (Ansible's tagged values, unsafe text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if str(k) not in _DROP_NESTED
                and not str(k).startswith("_ansible")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def keep(action: str, result: dict[str, t.Any], secrets: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """The allow-listed keys of a result, as plain JSON values, secrets scrubbed.

    A result Ansible censored (no_log) keeps nothing but that fact.
    """
    if result.get("censored") or result.get("_ansible_no_log"):
        return {"censored": True, "changed": bool(result.get("changed"))}
    module = action[len(COLLECTION):] if action.startswith(COLLECTION) else ""
    kept = {key: _plain(result[key]) for key in _COMMON + _KEEP.get(module, ()) if key in result}
    return scrub(kept, secrets)


def status_of(kind: str, result: dict[str, t.Any]) -> str:
    """ok / changed / failed / skipped / unreachable, from the callback event and the result."""
    if kind in ("failed", "unreachable", "skipped"):
        return kind
    return "changed" if result.get("changed") else "ok"


_TASK_PREFIX = re.compile(r"^(Inputs|Directory|Node|Nodes|Summary) \| ")


def short_task(name: str) -> str:
    """A role task name without its "Directory | " prefix, for reading."""
    return _TASK_PREFIX.sub("", name)
