# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""One LDAP modify of one object, with its failure explained in one actionable line.

Changes are given as ``{attribute: [(operation, [values]), ...]}`` with the
operations ``add``, ``delete`` and ``replace``, so callers need no ldap3 import.
:func:`explain_write_failure` is pure and unit-tested.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._ad_connection import (
    ADConnection,
    ADError,
    explain_ldap_result,
)

try:
    import ldap3
    from ldap3.core import exceptions as ldap3_exceptions
except ImportError:  # pragma: no cover - reported by require_libraries()
    ldap3 = None  # type: ignore[assignment]

Changes = t.Dict[str, t.List[t.Tuple[str, t.List[t.Any]]]]

RESULT_NO_SUCH_ATTRIBUTE = 16
RESULT_CONSTRAINT_VIOLATION = 19
RESULT_ATTRIBUTE_OR_VALUE_EXISTS = 20
RESULT_INSUFFICIENT_ACCESS = 50
RESULT_REFERRAL = 10


class ADWriteError(ADError):
    """A refused modify; ``result`` is the DC's LDAP result (code and diagnostic message)."""

    def __init__(self, message: str, dn: str, result: dict[str, t.Any] | None) -> None:
        super().__init__(message)
        self.dn = dn
        self.result = result or {}

    @property
    def code(self) -> int | None:
        return self.result.get("result")

    @property
    def dc_message(self) -> str:
        return str(self.result.get("message") or "").strip()


def is_duplicate_spn_refusal(result: dict[str, t.Any] | None) -> bool:
    """The DC refused an SPN add because another account holds it (Samba 0000202F, Windows 000021C7)."""
    if not result or result.get("result") != RESULT_CONSTRAINT_VIOLATION:
        return False
    message = str(result.get("message") or "").lower()
    return "000021c7" in message or ("0000202f" in message and "spn" in message and "conflict" in message)


def is_system_only_refusal(result: dict[str, t.Any] | None) -> bool:
    """Samba refuses writes of attributes its schema marks systemOnly (e.g. RBCD before Samba 4.19 or so)."""
    if not result or result.get("result") != RESULT_CONSTRAINT_VIOLATION:
        return False
    return "only be modified as system" in str(result.get("message") or "").lower()


def explain_write_failure(result: dict[str, t.Any] | None, dn: str, attributes: t.Sequence[str],
                          bound_as: str | None) -> str:
    """One line for a refused modify: the object, the attributes, the bind identity and the fix."""
    what = ", ".join(attributes)
    who = bound_as or "the bind identity"
    code = (result or {}).get("result")
    said = str((result or {}).get("message") or (result or {}).get("description") or "").strip()
    if code == RESULT_INSUFFICIENT_ACCESS:
        return ("cannot write %s on %s: %s has no right to change it (DC said: %s). Grant that identity write "
                "access to %s on the object (delegate control, or a group such as Domain Admins), or bind as an "
                "account that has it" % (what, dn, who, said or "insufficientAccessRights", what))
    if code == RESULT_NO_SUCH_ATTRIBUTE:
        return ("cannot write %s on %s: a value to remove is no longer there, so someone changed the object "
                "meanwhile (DC said: %s); run the task again" % (what, dn, said or "noSuchAttribute"))
    if code == RESULT_ATTRIBUTE_OR_VALUE_EXISTS:
        return ("cannot write %s on %s: a value to add is already there, so someone changed the object meanwhile "
                "(DC said: %s); run the task again" % (what, dn, said or "attributeOrValueExists"))
    if code == RESULT_REFERRAL:
        return ("cannot write %s on %s: the DC answered with a referral, so the object lives in another domain; "
                "connect to a DC of that domain (server=...)" % (what, dn))
    return explain_ldap_result(result, "writing %s on %s" % (what, dn))


def modify(conn: ADConnection, dn: str, changes: Changes) -> None:
    """Apply one modify to one object; raise :class:`ADWriteError` explaining a refusal."""
    operations = {"add": ldap3.MODIFY_ADD, "delete": ldap3.MODIFY_DELETE, "replace": ldap3.MODIFY_REPLACE}
    request = {attr: [(operations[op], list(values)) for op, values in ops] for attr, ops in changes.items() if ops}
    if not request:
        return
    try:
        ok = conn.conn.modify(dn, request)
    except ldap3_exceptions.LDAPException as exc:
        raise ADWriteError("writing %s on %s failed: %s" % (", ".join(request), dn, exc), dn, None) from exc
    if not ok:
        result = dict(conn.conn.result or {})
        raise ADWriteError(explain_write_failure(result, dn, list(request), conn.info.bound_as), dn, result)
