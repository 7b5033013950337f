# Internal to the webfarm.winauth lab.
"""IIS's Windows authentication on a lab node: providers in order, Kerberos with the keys the collection's rule
names (``acceptor``), NTLM fallback, and what a connection keeps authenticated.

Tokens are told apart with the collection's own token parser (``tokens``), the one the probe uses.
"""

from __future__ import annotations

import base64
import binascii
import typing as t
from dataclasses import dataclass, field

from . import webconfig
from .collection import acceptor, tokens
from .webnode import WebConfig
from .webworkers import Keys

SEC_E_NO_CREDENTIALS = 2148074254     # logged on NTLM's challenge leg (401.1)
SEC_E_LOGON_DENIED = 2148074252       # a logon (ticket or NTLM response) the server refused (401.1)
ERROR_ACCESS_DENIED = 5               # the anonymous first request when anonymous is off (401.2)


@dataclass
class ConnState:
    """Per TCP connection, as HTTP.sys and IIS keep it."""

    id: int
    identity: str | None = None
    mechanism: str = ""
    worker: tuple = ()               # the worker (pool, start time) that authenticated the connection
    pending: t.Any = None
    pending_kind: str = ""


@dataclass
class AuthOutcome:
    ok: bool
    status: int = 200
    substatus: int = 0
    win32: int = 0
    headers: list[str] = field(default_factory=list)
    user: str = ""
    mechanism: str = ""
    detail: dict[str, t.Any] = field(default_factory=dict)


def spnego_kind(token: bytes) -> tuple[str, bytes]:
    """ntlm | kerberos | spnego-kerberos | spnego-ntlm | spnego-continue | unknown, and the inner mech token."""
    if token.startswith(b"NTLMSSP\0"):
        return "ntlm", token
    if token[:1] == b"\xa1":
        return "spnego-continue", b""
    if token[:1] != b"\x60":
        return "unknown", b""
    try:
        parsed = tokens.parse_token(token)
    except tokens.TokenError:
        return "unknown", b""
    if parsed.kind.startswith("krb-"):
        return "kerberos", token
    if parsed.kind != "spnego-init":
        return "unknown", b""
    mech_token = parsed.mech_token
    if mech_token.startswith(b"NTLMSSP\0"):
        return "spnego-ntlm", mech_token
    first = (parsed.mech_types or [""])[0]
    if mech_token[:1] == b"\x60" or first in (tokens.OID_KRB5, tokens.OID_MS_KRB5):
        return "spnego-kerberos", mech_token
    if first == tokens.OID_NTLM:
        return "spnego-ntlm", mech_token
    return "unknown", b""


def ticket_spn(mech_token: bytes) -> str:
    """The SPN a Kerberos AP-REQ's ticket was issued for, ``HTTP/host@REALM`` (read from the token, for the log)."""
    try:
        parsed = tokens.parse_token(mech_token)
    except tokens.TokenError:
        return ""
    return "%s@%s" % (parsed.spn, parsed.realm) if parsed.spn else ""


class Authenticator:
    """IIS's Windows authentication for one node: providers, Kerberos keys per location, NTLM."""

    def __init__(self, config: WebConfig, keys: Keys) -> None:
        self.config = config
        self.keys = keys

    def windows_name(self, principal: str) -> str:
        user, _at, realm = principal.partition("@")
        if "\\" in user:
            domain, name = user.split("\\", 1)
            if domain.upper() in (self.config.netbios.upper(), self.config.realm.upper()):
                return "%s\\%s" % (self.config.netbios, name)
            return user
        if not realm or realm.upper() == self.config.realm.upper():
            return "%s\\%s" % (self.config.netbios, user)
        return principal

    def authenticate(self, header: str | None, conn: ConnState, settings: webconfig.AuthSettings,
                     keys: acceptor.KeySource, worker: tuple = ()) -> AuthOutcome:
        """IIS's decision for one request. A connection stays authenticated (requests without a header are
        served as its user) while the worker that authenticated it runs and the location's settings allow it:
        NTLM unless authPersistSingleRequest, Kerberos only with authPersistNonNTLM."""
        outcome = self._authenticate(header, conn, settings, keys)
        if outcome.ok and outcome.mechanism in ("ntlm", "kerberos") and header:
            conn.worker = worker
        return outcome

    def _persisted(self, conn: ConnState, settings: webconfig.AuthSettings) -> bool:
        if not conn.identity or conn.pending is not None or settings.auth_persist_single_request:
            return False
        return conn.mechanism == "ntlm" or settings.auth_persist_non_ntlm

    def _authenticate(self, header: str | None, conn: ConnState, settings: webconfig.AuthSettings,
                      keys: acceptor.KeySource) -> AuthOutcome:
        if settings.anonymous:
            return AuthOutcome(True, mechanism="anonymous")
        if not settings.windows:
            return AuthOutcome(False, 401, 2, ERROR_ACCESS_DENIED, detail={"why": "neither anonymous nor Windows "
                                                                                  "authentication is enabled here"})
        challenge = settings.challenges()
        if not header:
            if self._persisted(conn, settings):
                return AuthOutcome(True, user=conn.identity or "", mechanism=conn.mechanism,
                                   detail={"persisted": "the connection was authenticated earlier (%s)"
                                                        % conn.mechanism})
            return AuthOutcome(False, 401, 2, ERROR_ACCESS_DENIED, challenge)
        parts = header.strip().split(None, 1)
        scheme = parts[0].lower()
        try:
            token = base64.b64decode(parts[1].strip() if len(parts) > 1 else "", validate=True)
        except (binascii.Error, ValueError):
            token = b""
        offered = {c.lower() for c in challenge}
        if scheme not in offered or not token:
            conn.pending = None
            return AuthOutcome(False, 401, 2, ERROR_ACCESS_DENIED, challenge,
                               detail={"why": "the client used %s, which this location does not offer (providers: "
                                              "%s)" % (parts[0], ", ".join(settings.providers) or "none")})
        kind, mech_token = spnego_kind(token)
        if kind == "spnego-continue" and conn.pending is not None:
            kind = conn.pending_kind
        if kind in ("ntlm", "spnego-ntlm"):
            if scheme == "negotiate" and not settings.negotiate_allows_ntlm and not (
                    kind == "ntlm" and settings.offers_ntlm):
                conn.pending = None
                return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge,
                                   detail={"mechanism": "ntlm", "why": "the provider is Negotiate:Kerberos, which "
                                                                       "refuses NTLM"})
            return self._ntlm(scheme, kind, token, conn, settings, challenge)
        if kind in ("kerberos", "spnego-kerberos"):
            return self._kerberos(scheme, kind, token, mech_token, conn, settings, keys, challenge)
        conn.pending = None
        return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge, detail={"why": "unrecognised token"})

    def _ntlm(self, scheme: str, kind: str, token: bytes, conn: ConnState, settings: webconfig.AuthSettings,
              challenge: list[str]) -> AuthOutcome:
        import spnego  # pylint: disable=import-outside-toplevel
        from spnego.exceptions import SpnegoError  # pylint: disable=import-outside-toplevel

        first = token.startswith(b"NTLMSSP\0") and int.from_bytes(token[8:12], "little") == 1 or \
            kind == "spnego-ntlm" and token[:1] == b"\x60"
        context = None if first else conn.pending
        try:
            if context is None:
                context = spnego.server(protocol="ntlm" if kind == "ntlm" else "negotiate")
            out = context.step(token)
            complete = context.complete
        except (SpnegoError, Exception) as exc:  # pylint: disable=broad-except
            conn.pending = None
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge,
                               detail={"mechanism": "ntlm", "why": "NTLM logon failed: %s" % exc})
        reply = ["%s %s" % ("Negotiate" if scheme == "negotiate" else "NTLM",
                            base64.b64encode(out).decode("ascii"))] if out else []
        if not complete:
            conn.pending, conn.pending_kind = context, kind
            return AuthOutcome(False, 401, 1, SEC_E_NO_CREDENTIALS, reply or challenge,
                               detail={"mechanism": "ntlm", "why": "NTLM challenge"})
        conn.pending = None
        user = self.windows_name(str(context.client_principal or "?"))
        conn.identity, conn.mechanism = user, "ntlm"
        return AuthOutcome(True, headers=reply, user=user, mechanism="ntlm")

    def _kerberos(self, scheme: str, kind: str, token: bytes, mech_token: bytes, conn: ConnState,
                  settings: webconfig.AuthSettings, keys: acceptor.KeySource, challenge: list[str]) -> AuthOutcome:
        import gssapi  # pylint: disable=import-outside-toplevel

        del scheme
        spn = ticket_spn(mech_token if kind == "spnego-kerberos" else token)
        detail: dict[str, t.Any] = {"mechanism": "kerberos", "ticket_spn": spn, "key_account": keys.account,
                                    "key_reason": keys.reason}
        conn.pending = None
        if not keys.account:
            detail["why"] = "no account's keys are available here: %s" % keys.reason
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge, detail=detail)
        try:
            keytab = self.keys.keytab(keys.account)
        except KeyError as exc:
            detail["why"] = str(exc)
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge, detail=detail)
        try:
            creds = gssapi.Credentials(usage="accept", store={"keytab": "FILE:%s" % keytab})
            context = gssapi.SecurityContext(creds=creds, usage="accept")
            out = context.step(token)
            complete = context.complete
        except gssapi.exceptions.GSSError as exc:
            error_token = getattr(exc, "token", None)
            detail["why"] = "the ticket for %s could not be decrypted with the keys of %s: %s" % (
                spn or "the service", keys.account, " ".join(str(exc).split()))
            headers = ["Negotiate %s" % base64.b64encode(error_token).decode("ascii")] if error_token else challenge
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, headers, detail=detail)
        if not complete:
            detail["why"] = "the Kerberos exchange needs another leg, which the lab does not model"
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge, detail=detail)
        user = self.windows_name(str(context.initiator_name))
        conn.identity, conn.mechanism = user, "kerberos"
        headers = ["Negotiate %s" % base64.b64encode(out).decode("ascii")] if out else []
        return AuthOutcome(True, headers=headers, user=user, mechanism="kerberos", detail=detail)
