# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The tokens of HTTP Negotiate (RFC 4559) and NTLM, and what they say in clear text. Pure logic.

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

No I/O; only the standard library.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.asn1 import (
    APPLICATION,
    CONTEXT,
    UNIVERSAL,
    Tlv,
    TokenError,
    children,
    decode_int,
    decode_oid,
    decode_text,
    read_tlv,
    tagged,
)

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
    session_etype: int | None = None            # AP-REQ: the authenticator's, i.e. the session key's, encryption type
    error_code: int | None = None               # KRB-ERROR
    error_text: str = ""
    mech_token: bytes = field(default=b"", repr=False)  # NegTokenInit: the optimistic token's bytes (not reported)

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
        if self.session_etype is not None:
            out["session_etype"] = ETYPES.get(self.session_etype, str(self.session_etype))
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
        token.mech_token = fields[2].value
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
    if 4 in fields:  # the authenticator: EncryptedData in the ticket's session key (RFC 4120 5.5.1)
        authenticator = tagged(fields[4].value)
        if 0 in authenticator:
            token.session_etype = decode_int(authenticator[0].value)
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
