# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""HTTP Negotiate (RFC 4559) as a client sees it: one exchange, what the server accepted, and what went wrong.

``Exchange`` collects the legs of one authenticated request (the tokens parsed by ``tokens``) and
``explain`` turns it into the mechanism the server accepted and, when that is not what was
expected, a sentence saying why; ``probe_report`` is what negotiate_probe returns. Pure logic.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.tokens import (
    ETYPES,
    KRB_ERRORS,
    WRONG_KEY_ERRORS,
    Token,
)


# --- an exchange and what it means ---------------------------------------------------------------------------

@dataclass
class Exchange:
    """One probe attempt: one TCP connection, its requests and what each side sent."""

    statuses: list[int] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)      # the schemes of the first 401
    spn: str = ""                                         # the SPN the client asked the KDC for
    kerberos_error: str = ""                              # why the client got no ticket (KDC or library text)
    client_tokens: list[Token] = field(default_factory=list)
    server_tokens: list[Token] = field(default_factory=list)
    mutual: bool | None = None                            # the server's AP-REP verified (Kerberos)
    scheme: str = ""                                      # the Authorization scheme used
    backend: str = ""
    server: str = ""
    error: str = ""                                       # transport problem (connection, TLS)

    @property
    def final_status(self) -> int | None:
        return self.statuses[-1] if self.statuses else None

    def mechanism(self) -> str:
        """What the server accepted: kerberos, ntlm, anonymous, or none."""
        if self.final_status is None or self.final_status in (401, 407):
            return "none"
        if not self.client_tokens:
            return "anonymous" if self.final_status and self.final_status < 400 else "none"
        for token in reversed(self.server_tokens):
            if token.mechanism:
                return token.mechanism
        return self.client_tokens[-1].mechanism or "none"

    def ticket(self) -> Token | None:
        for token in self.client_tokens:
            candidate = token if token.kind == "krb-ap-req" else token.inner
            if candidate is not None and candidate.kind == "krb-ap-req":
                return candidate
        return None

    def server_error(self) -> Token | None:
        for token in reversed(self.server_tokens):
            if token.kerberos_error is not None:
                return token.kerberos_error
        return None


def _is_unknown_principal(text: str) -> bool:
    lowered = text.lower()
    return "not found in kerberos database" in lowered or "s_principal_unknown" in lowered \
        or "server not found" in lowered


def explain(exchange: Exchange, expect: str, url: str) -> str:
    """Why the exchange does not meet ``expect`` (kerberos, ntlm, anonymous, any); "" when it does."""
    mechanism = exchange.mechanism()
    status = exchange.final_status
    spn = exchange.spn or "(no SPN)"
    if exchange.error:
        return "the request to %s failed before any answer: %s" % (url, exchange.error)
    if status == 503:
        return ("%s answered 503 Service Unavailable: the application pool is not running. IIS answers 503 when the "
                "pool's worker process cannot start, typically because its identity lacks 'Log on as a batch job' "
                "(SeBatchLogonRight) on that node or its password is wrong; check the node's System event log (WAS "
                "5021, 5059)" % url)
    if expect == "any":
        if status is not None and status < 400:
            return ""
        return _why_not_authenticated(exchange, url, spn)
    if expect == "anonymous":
        return "" if mechanism == "anonymous" else "%s did not answer anonymously (status %s, mechanism %s)" % (
            url, status, mechanism)
    if mechanism == expect and status is not None and status < 400:
        return ""
    if mechanism == "anonymous":
        return ("%s answered %s without asking for credentials, so this client authenticated nothing: anonymous "
                "authentication is enabled at that URL, or (behind a proxy such as ARR) the request travelled on a "
                "backend connection that NTLM had already authenticated for someone else. Disable anonymous "
                "authentication where Windows authentication is wanted; behind ARR, set authPersistSingleRequest "
                "on the content servers" % (url, status))
    if expect == "kerberos" and mechanism == "ntlm":
        if exchange.kerberos_error:
            return ("the server accepted NTLM, not Kerberos: Negotiate fell back to NTLM because the client could not "
                    "get a Kerberos ticket for %s: %s" % (spn, _kdc_reason(exchange.kerberos_error, spn)))
        if "negotiate" not in [o.lower() for o in exchange.offered]:
            return ("the server accepted NTLM, not Kerberos: %s offers only %s (its Windows authentication providers "
                    "do not include Negotiate, the NTLM-only mode)" % (url, ", ".join(exchange.offered) or "NTLM"))
        return "the server accepted NTLM, not Kerberos (the client sent NTLM inside Negotiate)"
    if expect == "ntlm" and mechanism == "kerberos":
        return "the server accepted Kerberos, not NTLM"
    return _why_not_authenticated(exchange, url, spn)


def _kdc_reason(text: str, spn: str) -> str:
    if _is_unknown_principal(text):
        return ("the KDC knows no account with the SPN %s (KDC_ERR_S_PRINCIPAL_UNKNOWN, 'Server not found in Kerberos "
                "database'). Register it on the account that runs the application pool (webfarm.winauth.spn), once in "
                "the forest" % spn)
    if "not unique" in text.lower() or "principal_not_unique" in text.lower():
        return ("the SPN %s is registered on more than one account (KDC_ERR_PRINCIPAL_NOT_UNIQUE): remove the "
                "duplicates so that only the pool identity holds it" % spn)
    return text


def _why_not_authenticated(exchange: Exchange, url: str, spn: str) -> str:
    status = exchange.final_status
    error = exchange.server_error()
    if error is not None and error.error_code in WRONG_KEY_ERRORS:
        return ("the server rejected the Kerberos ticket for %s (%s): it holds different keys than the account the "
                "KDC encrypted the ticket for. The SPN is registered on an account whose keys this server does not "
                "use: IIS decrypts with the application pool identity's keys when useAppPoolCredentials=true or "
                "useKernelMode=false, and with the computer account's otherwise. Find the SPN's holder "
                "(webfarm.winauth.spn_info) and compare it with the pool identity (webfarm.winauth.farm_audit)"
                % (spn, KRB_ERRORS.get(error.error_code or 0, error.error_code)))
    if error is not None:
        return "the server rejected the Kerberos ticket for %s: %s%s" % (
            spn, KRB_ERRORS.get(error.error_code or 0, "KRB error %s" % error.error_code),
            " (%s)" % error.error_text if error.error_text else "")
    if exchange.kerberos_error and not exchange.client_tokens:
        return "no Kerberos ticket for %s and no NTLM credentials to fall back to: %s" % (
            spn, _kdc_reason(exchange.kerberos_error, spn))
    if status == 401 and not exchange.offered:
        return ("%s answered 401 without offering any authentication scheme: neither anonymous nor Windows "
                "authentication is enabled there (401.2)" % url)
    if status == 401 and exchange.client_tokens:
        used = exchange.client_tokens[-1].mechanism or exchange.scheme
        return "%s refused the %s logon (401): check the account and the node's log (401.1)" % (url, used)
    if status == 401:
        return "%s asked for %s, which the probe could not answer" % (url, ", ".join(exchange.offered))
    return "%s answered %s" % (url, status)


def spn_for(url_host: str, service: str = "HTTP", port: int | None = None) -> str:
    """The SPN a browser asks for: ``HTTP/<host as typed>`` (no port unless asked for, as browsers do)."""
    host = url_host.strip("[]").rstrip(".").lower()
    return "%s/%s%s" % (service, host, ":%d" % port if port else "")


AES_ETYPES = frozenset({17, 18, 19, 20})


def not_aes(exchange: Exchange) -> str:
    """Why a Kerberos exchange's ticket or session key is not AES; "" when both are."""
    ticket = exchange.ticket()
    if ticket is None:
        return ""
    names = {what: ETYPES.get(etype or 0, str(etype)) for what, etype in
             (("ticket", ticket.etype), ("session key", ticket.session_etype))}
    weak = [what for what, etype in (("ticket", ticket.etype), ("session key", ticket.session_etype))
            if etype is not None and etype not in AES_ETYPES]
    if not weak:
        return ""
    return ("the server accepted Kerberos, but the %s for %s %s not AES (ticket %s, session key %s): the KDC still "
            "issues RC4 for the account that holds the SPN, because its msDS-SupportedEncryptionTypes allows RC4, or "
            "is unset on a DC from before the 2026 RC4 switch-off (CVE-2026-20833). Set AES on that account "
            "(webfarm.winauth.kerberos_encryption), then get a new ticket (klist purge)"
            % (" and the ".join(weak), ticket.sname or exchange.spn, "are" if len(weak) > 1 else "is", names["ticket"],
               names["session key"]))


# --- the report of a probe ---------------------------------------------------------------------------------

def attempt_report(exchange: Exchange, seconds: float, expect: str, expect_status: int, url: str,
                   require_aes: bool = False) -> dict[str, t.Any]:
    """One attempt as the probe returns it (no tokens, no secrets) with ``ok`` and ``explanation``."""
    why = explain(exchange, expect, url)
    status = exchange.final_status
    if not why and status != expect_status:
        why = "%s answered %s, not the expected %s" % (url, status, expect_status)
    if not why and require_aes:
        why = not_aes(exchange)
    ticket = exchange.ticket()
    error = exchange.server_error()
    report: dict[str, t.Any] = {
        "status": status,
        "statuses": list(exchange.statuses),
        "mechanism": exchange.mechanism(),
        "backend": exchange.backend or None,
        "server": exchange.server or None,
        "offered": list(exchange.offered),
        "spn": exchange.spn or None,
        "ticket": None,
        "kerberos_error": exchange.kerberos_error or None,
        "server_error": None,
        "mutual_auth": exchange.mutual,
        "ntlm_user": None,
        "seconds": round(seconds, 3),
        "ok": not why,
        "explanation": why or None,
    }
    if ticket is not None:
        report["ticket"] = {"spn": ticket.sname, "realm": ticket.realm,
                            "etype": ETYPES.get(ticket.etype or 0, ticket.etype), "kvno": ticket.kvno,
                            "session_etype": ETYPES.get(ticket.session_etype or 0, ticket.session_etype)}
    if error is not None:
        report["server_error"] = {"code": error.error_code, "name": KRB_ERRORS.get(error.error_code or 0),
                                  "text": error.error_text or None}
    for token in exchange.client_tokens:
        if token.ntlm_user:
            report["ntlm_user"] = token.ntlm_user
    return report


def probe_report(attempts: t.Sequence[tuple[Exchange, float]], url: str, expect: str, expect_status: int,
                 expect_backends: t.Sequence[str] = (), require_aes: bool = False) -> dict[str, t.Any]:
    """The probe's result: the last attempt's status, every attempt, the backends seen, ``ok`` and ``msg``."""
    reports = [attempt_report(exchange, seconds, expect, expect_status, url, require_aes)
               for exchange, seconds in attempts]
    last = reports[-1] if reports else {}
    mechanisms = sorted({r["mechanism"] for r in reports})
    backends: dict[str, dict[str, int]] = {}
    for report in reports:
        counts = backends.setdefault(report["backend"] or "(unknown)", {})
        counts[report["mechanism"]] = counts.get(report["mechanism"], 0) + 1
    problems = []
    for index, report in enumerate(reports, 1):
        if not report["ok"]:
            where = " (attempt %d of %d%s)" % (index, len(reports), ", backend %s" % report["backend"]
                                               if report["backend"] else "") if len(reports) > 1 else ""
            problems.append(report["explanation"] + where)
    seen = {b.lower() for b in backends}
    missing = [b for b in expect_backends if b.lower() not in seen]
    if missing:
        problems.append("no attempt reached %s (backends seen: %s); raise count, or check the load balancer"
                        % (", ".join(missing), ", ".join(sorted(backends)) or "none"))
    unique = []
    for problem in problems:
        if problem not in unique:
            unique.append(problem)
    return {
        "url": url,
        "status": last.get("status"),
        "statuses": last.get("statuses", []),
        "mechanism": mechanisms[0] if len(mechanisms) == 1 else "mixed" if mechanisms else "none",
        "spn": last.get("spn"),
        "backend": last.get("backend"),
        "backends": backends,
        "ticket_etypes": sorted({r["ticket"]["etype"] for r in reports if r["ticket"] and r["ticket"]["etype"]}),
        "session_etypes": sorted({r["ticket"]["session_etype"] for r in reports
                                  if r["ticket"] and r["ticket"]["session_etype"]}),
        "attempts": reports,
        "ok": not unique,
        "msg": "; ".join(unique) if unique else "%s: %s (%s)" % (
            url, ", ".join(str(s) for s in last.get("statuses", [])), ", ".join(mechanisms)),
    }
