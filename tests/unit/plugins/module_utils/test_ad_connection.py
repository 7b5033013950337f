"""Unit tests of the directory connection layer's pure logic (no network)."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.explain import explain_ldap_result
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.lookup import (
    discovery_domain,
    order_srv_records,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import (
    AD_CONNECTION_ARGSPEC,
    ConnectionOptions,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import dn_to_dns_domain
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.sasl import (
    SaslBindError,
    _security_layer_reply,
    run_sasl_exchange,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.credentials import spnego_channel_bindings


def test_every_option_has_an_environment_variable() -> None:
    for name, spec in AD_CONNECTION_ARGSPEC.items():
        assert spec["fallback"][1] == ["WINAUTH_AD_%s" % name.upper()]
    assert AD_CONNECTION_ARGSPEC["password"]["no_log"] is True


@pytest.mark.parametrize("auth", ["simple", "ntlm"])
def test_clear_text_refused_for_password_binds(auth: str) -> None:
    options = ConnectionOptions(auth=auth, tls="none", username="CAMTEST\\a", password="x")
    with pytest.raises(InvalidInput, match="auth=%s with tls=none is refused" % auth):
        options.validate()


def test_kerberos_without_tls_needs_the_explicit_opt_in_and_then_warns() -> None:
    """The collection adds no SASL integrity layer: Kerberos over plain LDAP would write unsigned."""
    refused = ConnectionOptions(auth="kerberos", tls="none")
    with pytest.raises(InvalidInput, match="auth=kerberos with tls=none is refused: .* set allow_unsigned_ldap=true"):
        refused.validate()
    accepted = ConnectionOptions(auth="kerberos", tls="none", allow_unsigned_ldap=True)
    accepted.validate()
    (warning,) = accepted.warnings()
    assert "neither signed nor encrypted" in warning and "tls=ldaps" in warning
    assert ConnectionOptions(auth="kerberos", tls="ldaps").warnings() == []


@pytest.mark.parametrize("options, message", [
    (ConnectionOptions(auth="simple", username="a"), "needs username and password"),
    (ConnectionOptions(auth="ntlm", username="plain", password="x"), "DOMAIN\\\\user or user@domain"),
    (ConnectionOptions(auth="simple", username="a", password="x", keytab="/nonexistent"), "only applies to auth=kerberos"),
    (ConnectionOptions(auth="kerberos", username="a", keytab="/nonexistent"), "does not exist"),
    (ConnectionOptions(auth="kerberos", keytab="/nonexistent"), "needs username"),
    (ConnectionOptions(auth="kerberos", ca_cert="/nonexistent.pem"), "ca_cert=/nonexistent.pem does not exist"),
    (ConnectionOptions(auth="kerberos", port=70000), "port=70000 is not a TCP port"),
    (ConnectionOptions(auth="bogus"), "auth='bogus' is not one of"),
])
def test_invalid_combinations_name_the_parameter(options: ConnectionOptions, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        options.validate()


def test_ports_follow_tls_mode() -> None:
    assert ConnectionOptions(tls="ldaps").effective_port == 636
    assert ConnectionOptions(tls="starttls").effective_port == 389
    assert ConnectionOptions(tls="ldaps", port=1636).effective_port == 1636
    assert ConnectionOptions(tls="ldaps").gc_port == 3269
    assert ConnectionOptions(tls="starttls").gc_port == 3268


def test_password_not_in_repr() -> None:
    assert "s3cret" not in repr(ConnectionOptions(username="u", password="s3cret"))


def test_srv_records_ordered_by_priority_then_weight() -> None:
    records = [(10, 100, 389, "dc3.example.com."), (0, 50, 389, "dc2.example.com."), (0, 100, 389, "dc1.example.com.")]
    assert order_srv_records(records) == [("dc1.example.com", 389), ("dc2.example.com", 389), ("dc3.example.com", 389)]


def test_discovery_domain_sources() -> None:
    assert discovery_domain(ConnectionOptions(domain="corp.example")) == "corp.example"
    assert discovery_domain(ConnectionOptions(username="admin@camtest.local", auth="simple")) == "camtest.local"
    assert discovery_domain(ConnectionOptions(username="CAMTEST\\admin", auth="simple")) is None


def test_dn_to_dns_domain() -> None:
    assert dn_to_dns_domain("DC=camtest,DC=local") == "camtest.local"
    assert dn_to_dns_domain("OU=x,DC=a,DC=b,DC=c") == "a.b.c"


@pytest.mark.parametrize("message, meaning", [
    ("80090308: LdapErr: DSID-0C090439, comment: AcceptSecurityContext error, data 52e, v4563", "password is wrong"),
    ("80090308: LdapErr: DSID-0C090439, comment: AcceptSecurityContext error, data 533, v4563", "disabled"),
    ("80090308: LdapErr: DSID-0C090439, comment: AcceptSecurityContext error, data 775, v4563", "locked out"),
])
def test_invalid_credentials_subcodes(message: str, meaning: str) -> None:
    text = explain_ldap_result({"result": 49, "description": "invalidCredentials", "message": message}, "LDAP bind",
                               ConnectionOptions(username="a@b"))
    assert meaning in text and "a@b" in text


def test_stronger_auth_message_says_what_to_do() -> None:
    text = explain_ldap_result({"result": 8, "description": "strongerAuthRequired", "message": "x"}, "LDAP bind")
    assert "tls=ldaps or tls=starttls" in text


def test_insufficient_access_message() -> None:
    text = explain_ldap_result({"result": 50, "description": "insufficientAccessRights", "message": "00000005"},
                               "modify CN=x", ConnectionOptions(username="webops@camtest.local"))
    assert "insufficient access rights for webops@camtest.local" in text


def test_security_layer_reply_chooses_no_layer() -> None:
    # Server offers integrity and "none" (0x03) with a 64 KiB maximum buffer.
    reply = _security_layer_reply(struct.pack(">B3s", 0x03, (65536).to_bytes(3, "big")))
    assert reply == b"\x01\x00\x00\x00"


def test_security_layer_reply_refuses_mandatory_layers() -> None:
    with pytest.raises(SaslBindError, match="tls=ldaps or tls=starttls"):
        _security_layer_reply(b"\x02\x00\x10\x00")


class _FakeContext:
    """A scripted pyspnego client context: pure state machine, no crypto."""

    def __init__(self, tokens: list[bytes], complete_after: int) -> None:
        self.tokens = tokens
        self.steps = 0
        self.complete_after = complete_after
        self.received: list[bytes | None] = []

    @property
    def complete(self) -> bool:
        return self.steps >= self.complete_after

    def step(self, in_token: bytes | None) -> bytes | None:
        self.received.append(in_token)
        token = self.tokens[self.steps] if self.steps < len(self.tokens) else None
        self.steps += 1
        return token

    def unwrap(self, data: bytes):  # noqa: D401
        return type("R", (), {"data": data[len(b"wrapped:"):]})()

    def wrap(self, data: bytes, encrypt: bool):
        assert encrypt is False
        return type("R", (), {"data": b"wrapped:" + data})()


def test_gssapi_exchange_negotiates_no_security_layer() -> None:
    sent: list[tuple[str, bytes]] = []
    answers = [
        {"result": 14, "saslCreds": b"ap-rep"},
        {"result": 14, "saslCreds": b"wrapped:\x07\x01\x00\x00"},
        {"result": 0},
    ]

    def send(mechanism: str, payload: bytes) -> dict:
        sent.append((mechanism, payload))
        return answers[len(sent) - 1]

    context = _FakeContext([b"ap-req", b""], complete_after=2)
    assert run_sasl_exchange(send, "GSSAPI", context)["result"] == 0
    assert sent == [("GSSAPI", b"ap-req"), ("GSSAPI", b""), ("GSSAPI", b"wrapped:\x01\x00\x00\x00")]


def test_ntlm_exchange_ends_with_authenticate() -> None:
    answers = iter([{"result": 14, "saslCreds": b"challenge"}, {"result": 0}])
    context = _FakeContext([b"negotiate", b"authenticate"], complete_after=2)
    assert run_sasl_exchange(lambda m, p: next(answers), "GSS-SPNEGO", context)["result"] == 0
    assert context.received == [None, b"challenge"]


def test_refused_bind_carries_the_ldap_result() -> None:
    context = _FakeContext([b"negotiate"], complete_after=5)
    with pytest.raises(SaslBindError) as info:
        run_sasl_exchange(lambda m, p: {"result": 49, "message": "data 52e"}, "GSS-SPNEGO", context)
    assert info.value.result == {"result": 49, "message": "data 52e"}


def test_channel_bindings_from_certificate() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import datetime
    import hashlib

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "dc1.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA384()))
    der = cert.public_bytes(serialization.Encoding.DER)
    bindings = spnego_channel_bindings(der)
    assert bindings.application_data == b"tls-server-end-point:" + hashlib.sha384(der).digest()
    assert spnego_channel_bindings(None) is None
