"""Unit tests of the Negotiate token parser and the probe's explanations (no lab, no network).

Kerberos messages are built here with a small DER encoder following RFC 4120; SPNEGO and NTLM
tokens are also produced by pyspnego, an independent implementation, where it can build them.
"""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.asn1 import TokenError, decode_oid, read_tlv
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.negotiate import (
    Exchange,
    explain,
    probe_report,
    spn_for,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.tokens import (
    OID_KRB5,
    OID_NTLM,
    Token,
    parse_challenges,
    parse_token,
)


# --- a tiny DER encoder (test side) ---------------------------------------------------------------

def tlv(tag: int, content: bytes) -> bytes:
    if len(content) < 0x80:
        length = bytes([len(content)])
    else:
        raw = len(content).to_bytes((len(content).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def ctx(number: int, content: bytes) -> bytes:
    return tlv(0xA0 | number, content)


def app(number: int, content: bytes) -> bytes:
    return tlv(0x60 | number, content)


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def gstring(text: str) -> bytes:
    return tlv(0x1B, text.encode())


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.insert(0, 0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(chunk)
    return tlv(0x06, body)


def principal(*names: str, name_type: int = 2) -> bytes:
    return seq(ctx(0, integer(name_type)), ctx(1, seq(*[gstring(n) for n in names])))


def ap_req(service: str, host: str, realm: str = "CAMTEST.LOCAL", etype: int = 18, kvno: int = 7,
           session_etype: int = 18) -> bytes:
    enc_part = seq(ctx(0, integer(etype)), ctx(1, integer(kvno)), ctx(2, tlv(0x04, b"\x00" * 40)))
    ticket = app(1, seq(ctx(0, integer(5)), ctx(1, gstring(realm)), ctx(2, principal(service, host)),
                        ctx(3, enc_part)))
    authenticator = seq(ctx(0, integer(session_etype)), ctx(2, tlv(0x04, b"\x01" * 30)))
    return app(14, seq(ctx(0, integer(5)), ctx(1, integer(14)), ctx(2, tlv(0x03, b"\x00\x20\x00\x00\x00")),
                       ctx(3, ticket), ctx(4, authenticator)))


def krb_error(code: int, service: str = "HTTP", host: str = "sso.camtest.local", text: str | None = None) -> bytes:
    fields = [ctx(0, integer(5)), ctx(1, integer(30)), ctx(4, tlv(0x18, b"20261122025937Z")), ctx(5, integer(1)),
              ctx(6, integer(code)), ctx(9, gstring("CAMTEST.LOCAL")), ctx(10, principal(service, host))]
    if text:
        fields.append(ctx(11, gstring(text)))
    return app(30, seq(*fields))


def krb_gss(tok_id: bytes, message: bytes) -> bytes:
    return app(0, oid(OID_KRB5) + tok_id + message)


def neg_init(mechs: list[str], mech_token: bytes | None) -> bytes:
    fields = [ctx(0, seq(*[oid(m) for m in mechs]))]
    if mech_token is not None:
        fields.append(ctx(2, tlv(0x04, mech_token)))
    return app(0, oid("1.3.6.1.5.5.2") + ctx(0, seq(*fields)))


def neg_resp(state: int | None, mech: str | None, response: bytes | None, mic: bool = False) -> bytes:
    fields = []
    if state is not None:
        fields.append(ctx(0, tlv(0x0A, bytes([state]))))
    if mech is not None:
        fields.append(ctx(1, oid(mech)))
    if response is not None:
        fields.append(ctx(2, tlv(0x04, response)))
    if mic:
        fields.append(ctx(3, tlv(0x04, b"\x05" * 16)))
    return ctx(1, seq(*fields))


# --- DER and OIDs -----------------------------------------------------------------------------------

def test_oids_decode_like_their_dotted_form() -> None:
    for dotted in ("1.3.6.1.5.5.2", OID_KRB5, "1.2.840.48018.1.2.2", OID_NTLM):
        assert decode_oid(oid(dotted)[2:]) == dotted


def test_long_lengths_and_truncation() -> None:
    long_value = tlv(0x04, b"x" * 300)
    assert read_tlv(long_value).value == b"x" * 300
    with pytest.raises(TokenError, match="runs past the end"):
        read_tlv(long_value[:-1])
    with pytest.raises(TokenError):
        parse_token(b"\x13\x01")
    with pytest.raises(TokenError, match="empty"):
        parse_token(b"")


# --- Kerberos ------------------------------------------------------------------------------------------

def test_a_kerberos_ap_req_names_the_spn_realm_etype_and_kvno() -> None:
    token = parse_token(krb_gss(b"\x01\x00", ap_req("HTTP", "sso.camtest.local", etype=23, kvno=2)))
    assert token.kind == "krb-ap-req" and token.mechanism == "kerberos"
    assert (token.sname, token.realm, token.etype, token.kvno) == ("HTTP/sso.camtest.local", "CAMTEST.LOCAL", 23, 2)
    summary = token.summary()
    assert summary["ticket_etype"] == "rc4-hmac" and summary["spn"] == "HTTP/sso.camtest.local"


def test_a_krb_error_gives_its_code_name_and_server() -> None:
    token = parse_token(krb_gss(b"\x03\x00", krb_error(41, text="integrity check failed")))
    assert token.kind == "krb-error" and token.error_code == 41
    assert token.summary()["error"] == "KRB_AP_ERR_MODIFIED"
    assert token.sname == "HTTP/sso.camtest.local" and token.error_text == "integrity check failed"


def test_bare_kerberos_messages_parse_too() -> None:
    assert parse_token(ap_req("HTTP", "a.example")).sname == "HTTP/a.example"
    assert parse_token(app(15, seq(ctx(0, integer(5)), ctx(1, integer(15))))).kind == "krb-ap-rep"


# --- SPNEGO ----------------------------------------------------------------------------------------------

def test_neg_token_init_with_an_optimistic_kerberos_token() -> None:
    token = parse_token(neg_init([OID_KRB5, "1.2.840.48018.1.2.2", OID_NTLM],
                                 krb_gss(b"\x01\x00", ap_req("HTTP", "sso.camtest.local"))))
    assert token.kind == "spnego-init" and token.mechanism == "kerberos"
    assert token.spn == "HTTP/sso.camtest.local"
    assert token.summary()["mech_types"] == ["kerberos", "kerberos", "ntlm"]


def test_neg_token_resp_accept_completed_with_ap_rep() -> None:
    rep = krb_gss(b"\x02\x00", app(15, seq(ctx(0, integer(5)), ctx(1, integer(15)))))
    token = parse_token(neg_resp(0, OID_KRB5, rep, mic=True))
    assert (token.neg_state, token.mechanism, token.inner.kind, token.has_mic) == (
        "accept-completed", "kerberos", "krb-ap-rep", True)


def test_neg_token_resp_reject_carries_the_servers_krb_error() -> None:
    token = parse_token(neg_resp(2, None, krb_gss(b"\x03\x00", krb_error(35))))
    assert token.neg_state == "reject" and token.kerberos_error.error_code == 35


def test_ntlm_inside_spnego_and_bare() -> None:
    challenge = b"NTLMSSP\x00" + (2).to_bytes(4, "little") + b"\x00" * 40
    token = parse_token(neg_resp(1, OID_NTLM, challenge))
    assert token.mechanism == "ntlm" and token.inner.ntlm_type == 2 and token.neg_state == "accept-incomplete"
    assert parse_token(challenge).mechanism == "ntlm"


def test_pyspnego_tokens_parse_the_same() -> None:
    """pyspnego, an independent implementation, builds the SPNEGO and NTLM tokens."""
    spnego = pytest.importorskip("spnego")
    from spnego._spnego import NegState, NegTokenInit, NegTokenResp  # pylint: disable=import-outside-toplevel

    ntlm = spnego.client("CAMTEST\\alice", "not-a-real-password", protocol="ntlm")
    negotiate = ntlm.step()
    wrapped = NegTokenInit(mech_types=[OID_NTLM], mech_token=negotiate).pack()
    token = parse_token(wrapped)
    assert token.kind == "spnego-init" and token.mechanism == "ntlm" and token.inner.ntlm_type == 1
    response = NegTokenResp(neg_state=NegState.accept_complete, supported_mech=OID_KRB5).pack()
    parsed = parse_token(response)
    assert parsed.neg_state == "accept-completed" and parsed.mechanism == "kerberos"


def test_ntlm_authenticate_names_its_user(tmp_path, monkeypatch) -> None:
    spnego = pytest.importorskip("spnego")
    users = tmp_path / "ntlm_users"
    users.write_text("CAMTEST:alice:not-a-real-password\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))
    client = spnego.client("CAMTEST\\alice", "not-a-real-password", protocol="ntlm")
    server = spnego.server(protocol="ntlm")
    challenge = server.step(client.step())
    authenticate = client.step(challenge)
    token = parse_token(authenticate)
    assert token.ntlm_type == 3 and token.ntlm_user == "CAMTEST\\alice"


# --- headers and SPNs ----------------------------------------------------------------------------------------

def test_challenges_in_separate_and_combined_headers() -> None:
    assert parse_challenges(["Negotiate", "NTLM"]) == [("Negotiate", ""), ("NTLM", "")]
    combined = parse_challenges(['Negotiate abc=, Basic realm="x, y"'])
    assert combined == [("Negotiate", "abc="), ("Basic", 'realm="x, y"')]


def test_spn_is_built_from_the_host_as_typed() -> None:
    assert spn_for("SSO.camtest.local.") == "HTTP/sso.camtest.local"
    assert spn_for("sso", port=8443) == "HTTP/sso:8443"


# --- explanations ----------------------------------------------------------------------------------------------

def _kerberos_ok() -> Exchange:
    exchange = Exchange(statuses=[401, 200], offered=["Negotiate", "NTLM"], spn="HTTP/sso.camtest.local",
                        backend="SERVER1")
    ticket = krb_gss(b"\x01\x00", ap_req("HTTP", "sso.camtest.local"))
    exchange.client_tokens.append(parse_token(neg_init([OID_KRB5], ticket)))
    exchange.server_tokens.append(parse_token(neg_resp(0, OID_KRB5, None)))
    return exchange


def test_kerberos_accepted_meets_expect_kerberos() -> None:
    exchange = _kerberos_ok()
    assert exchange.mechanism() == "kerberos"
    assert explain(exchange, "kerberos", "https://sso") == ""


def test_ntlm_fallback_without_spn_is_explained() -> None:
    exchange = Exchange(statuses=[401, 401, 200], offered=["Negotiate", "NTLM"], spn="HTTP/sso.camtest.local",
                        kerberos_error="Server not found in Kerberos database")
    exchange.client_tokens.append(Token("ntlm", ntlm_type=1))
    exchange.server_tokens.append(Token("ntlm", ntlm_type=2))
    exchange.client_tokens.append(Token("ntlm", ntlm_type=3))
    why = explain(exchange, "kerberos", "https://sso")
    assert exchange.mechanism() == "ntlm"
    assert "fell back to NTLM" in why and "KDC_ERR_S_PRINCIPAL_UNKNOWN" in why and "HTTP/sso.camtest.local" in why


def test_a_rejected_ticket_is_explained_with_the_key_rule() -> None:
    exchange = Exchange(statuses=[401, 401], offered=["Negotiate", "NTLM"], spn="HTTP/sso.camtest.local")
    exchange.client_tokens.append(Token("krb-ap-req", sname="HTTP/sso.camtest.local"))
    exchange.server_tokens.append(parse_token(neg_resp(2, None, krb_gss(b"\x03\x00", krb_error(41)))))
    why = explain(exchange, "kerberos", "https://sso")
    assert exchange.mechanism() == "none"
    assert "KRB_AP_ERR_MODIFIED" in why and "useAppPoolCredentials" in why


def test_ntlm_only_providers_anonymous_and_503() -> None:
    ntlm_only = Exchange(statuses=[401, 401, 200], offered=["NTLM"], spn="HTTP/x")
    ntlm_only.client_tokens.append(Token("ntlm", ntlm_type=3))
    assert "offers only NTLM" in explain(ntlm_only, "kerberos", "https://x")
    assert explain(ntlm_only, "ntlm", "https://x") == ""
    anonymous = Exchange(statuses=[200])
    assert anonymous.mechanism() == "anonymous"
    assert "anonymous authentication is enabled" in explain(anonymous, "kerberos", "https://x")
    assert "batch job" in explain(Exchange(statuses=[503]), "kerberos", "https://x")
    assert "neither anonymous nor Windows" in explain(Exchange(statuses=[401]), "any", "https://x")


def test_probe_report_counts_backends_and_names_the_missing_one() -> None:
    first, second = _kerberos_ok(), _kerberos_ok()
    second.backend = "SERVER1"
    report = probe_report([(first, 0.1), (second, 0.1)], "https://sso", "kerberos", 200,
                          expect_backends=["SERVER1", "SERVER2"])
    assert report["backends"] == {"SERVER1": {"kerberos": 2}}
    assert not report["ok"] and "no attempt reached SERVER2" in report["msg"]
    assert report["mechanism"] == "kerberos" and report["attempts"][0]["ticket"]["spn"] == "HTTP/sso.camtest.local"


def test_probe_report_of_mixed_results_says_which_attempt_failed() -> None:
    bad = Exchange(statuses=[401, 401], offered=["Negotiate"], spn="HTTP/sso", backend="SERVER2")
    bad.client_tokens.append(Token("krb-ap-req"))
    bad.server_tokens.append(Token("krb-error", error_code=41))
    report = probe_report([(_kerberos_ok(), 0.1), (bad, 0.1)], "https://sso", "kerberos", 200)
    assert report["mechanism"] == "mixed" and not report["ok"]
    assert "attempt 2 of 2, backend SERVER2" in report["msg"]
    assert report["attempts"][1]["server_error"]["name"] == "KRB_AP_ERR_MODIFIED"


# --- encryption types ----------------------------------------------------------------------------------------

def _kerberos_with(etype: int, session_etype: int) -> Exchange:
    exchange = _kerberos_ok()
    ticket = krb_gss(b"\x01\x00", ap_req("HTTP", "sso.camtest.local", etype=etype, session_etype=session_etype))
    exchange.client_tokens[:] = [parse_token(neg_init([OID_KRB5], ticket))]
    return exchange


def test_the_ap_req_gives_the_session_keys_etype_from_its_authenticator() -> None:
    token = parse_token(krb_gss(b"\x01\x00", ap_req("HTTP", "sso.camtest.local", etype=23, session_etype=18)))
    assert (token.etype, token.session_etype) == (23, 18)
    assert token.summary()["session_etype"] == "aes256-cts-hmac-sha1-96"


def test_the_report_names_both_etypes_and_require_aes_fails_rc4() -> None:
    rc4 = _kerberos_with(23, 18)
    report = probe_report([(rc4, 0.1)], "https://sso", "kerberos", 200)
    assert report["ok"] and report["ticket_etypes"] == ["rc4-hmac"]
    assert report["session_etypes"] == ["aes256-cts-hmac-sha1-96"]
    assert report["attempts"][0]["ticket"]["session_etype"] == "aes256-cts-hmac-sha1-96"
    strict = probe_report([(rc4, 0.1)], "https://sso", "kerberos", 200, require_aes=True)
    assert not strict["ok"]
    assert strict["msg"].startswith("the server accepted Kerberos, but the ticket for HTTP/sso.camtest.local is not "
                                    "AES (ticket rc4-hmac, session key aes256-cts-hmac-sha1-96)")
    assert "CVE-2026-20833" in strict["msg"] and "webfarm.winauth.kerberos_encryption" in strict["msg"]
    both = probe_report([(_kerberos_with(23, 23), 0.1)], "https://sso", "kerberos", 200, require_aes=True)
    assert "the ticket and the session key for HTTP/sso.camtest.local are not AES" in both["msg"]
    aes = probe_report([(_kerberos_with(18, 17), 0.1)], "https://sso", "kerberos", 200, require_aes=True)
    assert aes["ok"] and aes["ticket_etypes"] == ["aes256-cts-hmac-sha1-96"]
