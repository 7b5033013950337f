# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""HTTP Negotiate (RFC 4559) as a client sees it: the tokens, what they say, and what went wrong. Pure logic.

``parse_token(data)`` reads any token that travels in ``Authorization: Negotiate|NTLM`` and
``WWW-Authenticate`` headers and returns a ``Token``:

* NTLM messages (``NTLMSSP\\0``, types 1 to 3; a type 3 names its user and domain);
* GSS-API initial context tokens (RFC 2743 3.1, ``[APPLICATION 0]``) of Kerberos (RFC 4121:
  ``01 00`` AP-REQ, ``02 00`` AP-REP, ``03 00`` KRB-ERROR) or of SPNEGO (RFC 4178: NegTokenInit
  with its mechanism list and optimistic token);
* SPNEGO NegTokenResp (``[1]``): negState, supportedMech and the inner response token;
* bare Kerberos messages (AP-REQ ``[APPLICATION 14]``, AP-REP ``[APPLICATION 15]``,
  KRB-ERROR ``[APPLICATION 30]``).

From a Kerberos AP-REQ it reads what is in clear text: the ticket's realm and server name (the SPN
the client asked the KDC for), the ticket's encryption type and key version. From a KRB-ERROR:
the error code and its name, the e-text and the server name. Nothing is decrypted.

``Exchange`` collects the legs of one authenticated request and ``explain`` turns it into the
mechanism the server accepted and, when that is not what was expected, a sentence saying why.

No I/O; only the standard library.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

OID_SPNEGO = "1.3.6.1.5.5.2"
OID_KRB5 = "1.2.840.113554.1.2.2"
OID_MS_KRB5 = "1.2.840.48018.1.2.2"
OID_NTLM = "1.3.6.1.4.1.311.2.2.10"
MECH_NAMES = {OID_KRB5: "kerberos", OID_MS_KRB5: "kerberos", OID_NTLM: "ntlm", OID_SPNEGO: "spnego"}
NEG_STATES = {0: "accept-completed", 1: "accept-incomplete", 2: "reject", 3: "request-mic"}
ETYPES = {17: "aes128-cts-hmac-sha1-96", 18: "aes256-cts-hmac-sha1-96", 19: "aes128-cts-hmac-sha256-128",
          20: "aes256-cts-hmac-sha384-192", 23: "rc4-hmac", 24: "rc4-hmac-exp", 3: "des-cbc-md5", 1: "des-cbc-crc"}
# RFC 4120 7.5.9 (the codes an HTTP client meets).
KRB_ERRORS = {
    6: "KDC_ERR_C_PRINCIPAL_UNKNOWN", 7: "KDC_ERR_S_PRINCIPAL_UNKNOWN", 8: "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
    14: "KDC_ERR_ETYPE_NOSUPP", 24: "KDC_ERR_PREAUTH_FAILED", 31: "KRB_AP_ERR_BAD_INTEGRITY",
    32: "KRB_AP_ERR_TKT_EXPIRED", 33: "KRB_AP_ERR_TKT_NYV", 34: "KRB_AP_ERR_REPEAT", 35: "KRB_AP_ERR_NOT_US",
    36: "KRB_AP_ERR_BADMATCH", 37: "KRB_AP_ERR_SKEW", 41: "KRB_AP_ERR_MODIFIED", 44: "KRB_AP_ERR_BADKEYVER",
    45: "KRB_AP_ERR_NOKEY", 60: "KRB_ERR_GENERIC",
}
# The errors with which an acceptor says "this ticket is not encrypted with a key I have".
WRONG_KEY_ERRORS = (31, 35, 41, 44, 45)

UNIVERSAL, APPLICATION, CONTEXT = 0, 1, 2


class TokenError(ValueError):
    """The bytes are not a token this module understands (the message says where it stopped)."""


# --- DER ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tlv:
    cls: int            # UNIVERSAL, APPLICATION, CONTEXT (or 3: private)
    constructed: bool
    tag: int
    value: bytes
    end: int            # offset just after this TLV


def read_tlv(data: bytes, offset: int = 0) -> Tlv:
    """One DER TLV at ``offset`` (definite lengths, tag numbers up to 2**28)."""
    if offset >= len(data):
        raise TokenError("unexpected end of data at offset %d" % offset)
    first = data[offset]
    cls, constructed, tag = first >> 6, bool(first & 0x20), first & 0x1F
    pos = offset + 1
    if tag == 0x1F:
        tag = 0
        while True:
            if pos >= len(data):
                raise TokenError("truncated tag at offset %d" % offset)
            byte = data[pos]
            pos += 1
            tag = (tag << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
    if pos >= len(data):
        raise TokenError("missing length at offset %d" % offset)
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise TokenError("unsupported length encoding at offset %d" % offset)
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise TokenError("value at offset %d runs past the end (%d bytes wanted, %d left)"
                         % (offset, length, len(data) - pos))
    return Tlv(cls, constructed, tag, data[pos:pos + length], pos + length)


def children(value: bytes) -> list[Tlv]:
    """The TLVs of a constructed value, in order."""
    items, offset = [], 0
    while offset < len(value):
        item = read_tlv(value, offset)
        items.append(item)
        offset = item.end
    return items


def tagged(value: bytes) -> dict[int, Tlv]:
    """The explicitly tagged fields ``[n]`` of a SEQUENCE's content, by tag number (their inner TLV)."""
    fields = {}
    for item in children(value):
        if item.cls == CONTEXT and item.constructed:
            fields[item.tag] = read_tlv(item.value)
    return fields


def decode_oid(value: bytes) -> str:
    if not value:
        raise TokenError("empty object identifier")
    first = value[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    number = 0
    for byte in value[1:]:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(number)
            number = 0
    return ".".join(str(p) for p in parts)


def decode_int(value: bytes) -> int:
    return int.from_bytes(value, "big", signed=True) if value else 0


def decode_text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def principal_name(tlv: Tlv) -> str:
    """A PrincipalName (RFC 4120 5.2.2) as ``HTTP/sso.example.com``."""
    fields = tagged(tlv.value)
    if 1 not in fields:
        return ""
    return "/".join(decode_text(part.value) for part in children(fields[1].value))


# --- tokens ---------------------------------------------------------------------------------------------

@dataclass
class Token:
    """What one token says. ``kind`` is one of: ntlm, spnego-init, spnego-resp, krb-ap-req, krb-ap-rep,
    krb-error, gss (another mechanism)."""

    kind: str
    mech: str = ""                              # the mechanism OID the token belongs to, when it says
    mech_types: list[str] = field(default_factory=list)     # NegTokenInit: the client's mechanisms, in order
    neg_state: str = ""                         # NegTokenResp
    supported_mech: str = ""                    # NegTokenResp: the mechanism the server chose
    inner: "Token | None" = None                # the token inside a SPNEGO token
    has_mic: bool = False
    ntlm_type: int = 0                          # NTLM message type (1 negotiate, 2 challenge, 3 authenticate)
    ntlm_user: str = ""                         # NTLM type 3: DOMAIN\\user
    realm: str = ""                             # Kerberos: the ticket's or the error's realm
    sname: str = ""                             # Kerberos: the ticket's (or error's) server name: the SPN
    etype: int | None = None                    # AP-REQ: the ticket's encryption type
    kvno: int | None = None                     # AP-REQ: the key version the ticket is encrypted with
    error_code: int | None = None               # KRB-ERROR
    error_text: str = ""

    @property
    def mechanism(self) -> str:
        """kerberos, ntlm, or "" when the token does not tell."""
        if self.kind == "ntlm":
            return "ntlm"
        if self.kind.startswith("krb-"):
            return "kerberos"
        if self.inner is not None and self.inner.mechanism:
            return self.inner.mechanism
        if self.kind == "spnego-resp" and self.supported_mech:
            return MECH_NAMES.get(self.supported_mech, "")
        if self.kind == "spnego-init" and self.mech_types:
            return MECH_NAMES.get(self.mech_types[0], "")
        return MECH_NAMES.get(self.mech, "") if self.mech != OID_SPNEGO else ""

    @property
    def spn(self) -> str:
        if self.sname:
            return self.sname
        return self.inner.spn if self.inner is not None else ""

    @property
    def kerberos_error(self) -> "Token | None":
        if self.kind == "krb-error":
            return self
        return self.inner.kerberos_error if self.inner is not None else None

    def summary(self) -> dict[str, t.Any]:
        """A JSON-friendly description: names and numbers only, never key material."""
        out: dict[str, t.Any] = {"kind": self.kind}
        if self.mechanism:
            out["mechanism"] = self.mechanism
        if self.mech_types:
            out["mech_types"] = [MECH_NAMES.get(m, m) for m in self.mech_types]
        if self.neg_state:
            out["neg_state"] = self.neg_state
        if self.supported_mech:
            out["supported_mech"] = MECH_NAMES.get(self.supported_mech, self.supported_mech)
        if self.ntlm_type:
            names = {1: "negotiate", 2: "challenge", 3: "authenticate"}
            out["ntlm_message"] = names.get(self.ntlm_type, self.ntlm_type)
        if self.ntlm_user:
            out["ntlm_user"] = self.ntlm_user
        if self.sname:
            out["spn"] = self.sname
        if self.realm:
            out["realm"] = self.realm
        if self.etype is not None:
            out["ticket_etype"] = ETYPES.get(self.etype, str(self.etype))
        if self.kvno is not None:
            out["ticket_kvno"] = self.kvno
        if self.error_code is not None:
            out["error"] = KRB_ERRORS.get(self.error_code, "KRB error %d" % self.error_code)
            out["error_code"] = self.error_code
        if self.error_text:
            out["error_text"] = self.error_text
        if self.inner is not None:
            out["inner"] = self.inner.summary()
        return out


def parse_token(data: bytes) -> Token:
    """Parse a Negotiate/NTLM token (see the module docstring). TokenError when it is not one."""
    if not data:
        raise TokenError("empty token")
    if data.startswith(b"NTLMSSP\0"):
        return _ntlm(data)
    tlv = read_tlv(data)
    if tlv.cls == APPLICATION and tlv.tag == 0 and tlv.constructed:
        return _initial_context_token(tlv.value)
    if tlv.cls == CONTEXT and tlv.tag == 1:
        return _neg_token_resp(tlv.value)
    if tlv.cls == CONTEXT and tlv.tag == 0:
        return _neg_token_init(tlv.value)
    if tlv.cls == APPLICATION and tlv.tag in (14, 15, 30):
        return _kerberos(tlv)
    raise TokenError("not an NTLM, SPNEGO or Kerberos token (first byte 0x%02x)" % data[0])


def _ntlm(data: bytes) -> Token:
    if len(data) < 12:
        raise TokenError("truncated NTLM message")
    message_type = int.from_bytes(data[8:12], "little")
    token = Token("ntlm", mech=OID_NTLM, ntlm_type=message_type)
    if message_type == 3 and len(data) >= 52:
        flags = int.from_bytes(data[60:64], "little") if len(data) >= 64 else 0
        encoding = "utf-16-le" if flags & 1 else "latin-1"

        def field_at(offset: int) -> str:
            length = int.from_bytes(data[offset:offset + 2], "little")
            start = int.from_bytes(data[offset + 4:offset + 8], "little")
            return data[start:start + length].decode(encoding, "replace") if start + length <= len(data) else ""
        domain, user = field_at(28), field_at(36)
        token.ntlm_user = "%s\\%s" % (domain, user) if domain else user
    return token


def _initial_context_token(value: bytes) -> Token:
    oid_tlv = read_tlv(value)
    if oid_tlv.cls != UNIVERSAL or oid_tlv.tag != 6:
        raise TokenError("an initial context token must start with its mechanism's OID")
    mech = decode_oid(oid_tlv.value)
    rest = value[oid_tlv.end:]
    if mech == OID_SPNEGO:
        inner = read_tlv(rest)
        if inner.cls != CONTEXT or inner.tag != 0:
            raise TokenError("a SPNEGO initial token must hold a NegTokenInit")
        token = _neg_token_init(inner.value)
        token.mech = OID_SPNEGO
        return token
    if mech in (OID_KRB5, OID_MS_KRB5):
        if len(rest) < 3:
            raise TokenError("truncated Kerberos GSS token")
        token = _kerberos(read_tlv(rest[2:]))
        token.mech = mech
        return token
    return Token("gss", mech=mech)


def _neg_token_init(value: bytes) -> Token:
    sequence = read_tlv(value)
    fields = tagged(sequence.value)
    token = Token("spnego-init", mech=OID_SPNEGO)
    if 0 in fields:
        token.mech_types = [decode_oid(item.value) for item in children(fields[0].value)]
    if 2 in fields and fields[2].value:
        token.inner = _inner(fields[2].value, token.mech_types[0] if token.mech_types else "")
    token.has_mic = 3 in fields
    return token


def _neg_token_resp(value: bytes) -> Token:
    sequence = read_tlv(value)
    fields = tagged(sequence.value)
    token = Token("spnego-resp", mech=OID_SPNEGO)
    if 0 in fields:
        token.neg_state = NEG_STATES.get(decode_int(fields[0].value), str(decode_int(fields[0].value)))
    if 1 in fields:
        token.supported_mech = decode_oid(fields[1].value)
    if 2 in fields and fields[2].value:
        token.inner = _inner(fields[2].value, token.supported_mech)
    token.has_mic = 3 in fields
    return token


def _inner(data: bytes, mech: str) -> Token | None:
    """A mechanism token inside SPNEGO; unknown bytes give a bare token of that mechanism."""
    try:
        return parse_token(data)
    except TokenError:
        return Token("gss", mech=mech)


def _kerberos(tlv: Tlv) -> Token:
    if tlv.cls != APPLICATION or tlv.tag not in (14, 15, 30):
        raise TokenError("not a Kerberos AP-REQ, AP-REP or KRB-ERROR ([APPLICATION %d])" % tlv.tag)
    fields = tagged(read_tlv(tlv.value).value)
    if tlv.tag == 15:
        return Token("krb-ap-rep", mech=OID_KRB5)
    if tlv.tag == 30:
        token = Token("krb-error", mech=OID_KRB5)
        if 6 in fields:
            token.error_code = decode_int(fields[6].value)
        if 11 in fields:
            token.error_text = decode_text(fields[11].value)
        if 9 in fields:
            token.realm = decode_text(fields[9].value)
        if 10 in fields:
            token.sname = principal_name(fields[10])
        return token
    token = Token("krb-ap-req", mech=OID_KRB5)
    if 3 in fields:
        ticket_tlv = fields[3]
        if ticket_tlv.cls != APPLICATION or ticket_tlv.tag != 1:
            raise TokenError("an AP-REQ's ticket must be [APPLICATION 1]")
        ticket = tagged(read_tlv(ticket_tlv.value).value)
        if 1 in ticket:
            token.realm = decode_text(ticket[1].value)
        if 2 in ticket:
            token.sname = principal_name(ticket[2])
        if 3 in ticket:
            enc = tagged(ticket[3].value)
            if 0 in enc:
                token.etype = decode_int(enc[0].value)
            if 1 in enc:
                token.kvno = decode_int(enc[1].value)
    return token


# --- WWW-Authenticate ------------------------------------------------------------------------------------

def parse_challenges(values: t.Sequence[str]) -> list[tuple[str, str]]:
    """(scheme, base64 data or "") for each challenge of the WWW-Authenticate headers, in order.

    IIS sends one challenge per header; several in one header are split on commas before a scheme.
    """
    result = []
    for value in values:
        for part in _split_challenges(value):
            scheme, _sep, data = part.strip().partition(" ")
            if scheme:
                result.append((scheme, data.strip()))
    return result


def _split_challenges(value: str) -> list[str]:
    parts: list[str] = []
    for piece in value.split(","):
        stripped = piece.strip()
        first = stripped.split(" ", 1)[0]
        if parts and ("=" in first or not stripped or not first.isalnum()):
            parts[-1] += "," + piece          # an auth-param of the previous challenge
        else:
            parts.append(stripped)
    return parts


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


# --- the report of a probe ---------------------------------------------------------------------------------

def attempt_report(exchange: Exchange, seconds: float, expect: str, expect_status: int, url: str) -> dict[str, t.Any]:
    """One attempt as the probe returns it (no tokens, no secrets) with ``ok`` and ``explanation``."""
    why = explain(exchange, expect, url)
    status = exchange.final_status
    if not why and status != expect_status:
        why = "%s answered %s, not the expected %s" % (url, status, expect_status)
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
                            "etype": ETYPES.get(ticket.etype or 0, ticket.etype), "kvno": ticket.kvno}
    if error is not None:
        report["server_error"] = {"code": error.error_code, "name": KRB_ERRORS.get(error.error_code or 0),
                                  "text": error.error_text or None}
    for token in exchange.client_tokens:
        if token.ntlm_user:
            report["ntlm_user"] = token.ntlm_user
    return report


def probe_report(attempts: t.Sequence[tuple[Exchange, float]], url: str, expect: str, expect_status: int,
                 expect_backends: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """The probe's result: the last attempt's status, every attempt, the backends seen, ``ok`` and ``msg``."""
    reports = [attempt_report(exchange, seconds, expect, expect_status, url) for exchange, seconds in attempts]
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
        "attempts": reports,
        "ok": not unique,
        "msg": "; ".join(unique) if unique else "%s: %s (%s)" % (
            url, ", ".join(str(s) for s in last.get("statuses", [])), ", ".join(mechanisms)),
    }
