"""webfarm.winauth.domain_info and the directory connection layer against the lab's real Samba AD DC."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.ansible import run_module

MODULE = "webfarm.winauth.domain_info"


def _domain_sid(lab: dict[str, str]) -> str:
    out = subprocess.run(["ldbsearch", "-H", lab["LAB_SAM_LDB"], "-s", "base", "-b", lab["LAB_DOMAIN_DN"], "objectSid"],
                         capture_output=True, text=True, check=True).stdout
    return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("objectSid: "))


@pytest.fixture(scope="module")
def domain_sid(lab) -> str:
    return _domain_sid(lab)


@pytest.fixture()
def kinit_ccache(lab, tmp_path: Path) -> dict[str, str]:
    """A private credential cache holding a TGT for the lab user alice (as `kinit` would leave it)."""
    ccache = "FILE:%s" % (tmp_path / "ccache")
    env = dict(os.environ, KRB5CCNAME=ccache)
    subprocess.run(["kinit", "alice@%s" % lab["LAB_REALM"]], input="Alice-Pa55!\n", text=True, env=env, check=True,
                   capture_output=True)
    return {"KRB5CCNAME": ccache}


def _assert_domain(result, lab, domain_sid) -> None:
    assert not result.failed, result.output
    assert result["changed"] is False
    assert result["domain"]["sid"] == domain_sid
    assert result["domain"]["dns_name"] == lab["LAB_DNS_DOMAIN"]
    assert result["domain"]["netbios_name"] == lab["LAB_NETBIOS"]
    assert result["domain"]["dn"] == lab["LAB_DOMAIN_DN"]
    assert result["dc"]["hostname"].lower() == lab["LAB_DC_HOSTNAME"].lower()
    assert result["domain"]["domain_functional_level"]


def test_kerberos_from_kinit_ccache(lab, domain_sid, kinit_ccache) -> None:
    result = run_module(MODULE, {"server": lab["LAB_DC_HOSTNAME"], "auth": "kerberos", "ca_cert": lab["LAB_CA_CERT"]},
                        env=kinit_ccache)
    _assert_domain(result, lab, domain_sid)
    assert result["bind"] == {"identity": "alice@%s" % lab["LAB_REALM"], "auth": "kerberos", "tls": "ldaps"}
    assert result["global_catalog"]["reachable"] is True
    assert result["global_catalog"]["port"] == 3269


def test_kerberos_with_username_and_password(lab, domain_sid, tmp_path) -> None:
    # An empty ccache proves the password, not a cached ticket, is used.
    result = run_module(MODULE, {"server": lab["LAB_DC"], "auth": "kerberos", "ca_cert": lab["LAB_CA_CERT"],
                                 "username": "Administrator@%s" % lab["LAB_REALM"],
                                 "password": lab["LAB_ADMIN_PASSWORD"]},
                        env={"KRB5CCNAME": "FILE:%s" % (tmp_path / "empty")})
    _assert_domain(result, lab, domain_sid)


def test_kerberos_with_keytab(lab, domain_sid, tmp_path) -> None:
    keytab = tmp_path / "cam-svc.keytab"
    subprocess.run(["samba-tool", "domain", "exportkeytab", str(keytab), "--principal=cam-svc", "-s",
                    lab["LAB_SMB_CONF"]], check=True, capture_output=True)
    result = run_module(MODULE, {"server": lab["LAB_DC_HOSTNAME"], "auth": "kerberos", "ca_cert": lab["LAB_CA_CERT"],
                                 "username": "cam-svc@%s" % lab["LAB_REALM"], "keytab": str(keytab)},
                        env={"KRB5CCNAME": "FILE:%s" % (tmp_path / "empty")})
    _assert_domain(result, lab, domain_sid)


@pytest.mark.parametrize("tls, port", [("ldaps", 636), ("starttls", 389)])
def test_simple_bind_over_tls(lab, domain_sid, admin_connection, tls, port) -> None:
    result = run_module(MODULE, dict(admin_connection, tls=tls))
    _assert_domain(result, lab, domain_sid)
    assert result["dc"]["port"] == port
    assert result["bind"]["tls"] == tls


@pytest.mark.parametrize("tls", ["ldaps", "starttls"])
def test_ntlm_bind_over_tls(lab, domain_sid, admin_connection, tls) -> None:
    args = dict(admin_connection, auth="ntlm", tls=tls, username="%s\\Administrator" % lab["LAB_NETBIOS"])
    _assert_domain(run_module(MODULE, args), lab, domain_sid)


def test_options_from_environment_variables(lab, domain_sid, admin_connection) -> None:
    env = {"WINAUTH_AD_%s" % name.upper(): str(value) for name, value in admin_connection.items()}
    _assert_domain(run_module(MODULE, {}, env=env), lab, domain_sid)


def test_dc_discovered_from_the_domain_name(lab, domain_sid, admin_connection) -> None:
    args = {k: v for k, v in admin_connection.items() if k != "server"}
    result = run_module(MODULE, args)
    _assert_domain(result, lab, domain_sid)
    assert result["dc"]["server"] == lab["LAB_DNS_DOMAIN"]


def test_bad_password(admin_connection) -> None:
    result = run_module(MODULE, dict(admin_connection, password="not-the-password"))
    assert result.failed
    assert "the DC rejected the credentials of %s (the username or password is wrong)" % admin_connection["username"] \
        in result["msg"]
    assert "not-the-password" not in result.output


def test_bad_kerberos_password(lab, tmp_path) -> None:
    result = run_module(MODULE, {"server": lab["LAB_DC_HOSTNAME"], "auth": "kerberos", "ca_cert": lab["LAB_CA_CERT"],
                                 "username": "alice@%s" % lab["LAB_REALM"], "password": "wrong-one"},
                        env={"KRB5CCNAME": "FILE:%s" % (tmp_path / "empty")})
    assert result.failed
    assert result["msg"] == "Kerberos: the KDC rejected the password of alice@%s; check username and password" % (
        lab["LAB_REALM"])


def test_no_kerberos_credentials(lab, tmp_path) -> None:
    result = run_module(MODULE, {"server": lab["LAB_DC_HOSTNAME"], "auth": "kerberos", "ca_cert": lab["LAB_CA_CERT"]},
                        env={"KRB5CCNAME": "FILE:%s" % (tmp_path / "empty")})
    assert result.failed
    assert result["msg"].startswith("Kerberos: no credentials: run kinit")


def test_unreachable_server(admin_connection) -> None:
    result = run_module(MODULE, dict(admin_connection, server="127.0.0.9"))
    assert result.failed
    assert result["msg"].startswith("cannot reach the DC at 127.0.0.9:636 (connection refused)")


def test_unknown_dns_name(admin_connection) -> None:
    result = run_module(MODULE, dict(admin_connection, server="nodc.invalid"))
    assert result.failed
    assert result["msg"].startswith("DNS name not found: nodc.invalid does not resolve")


def test_certificate_not_validated_without_the_lab_ca(admin_connection) -> None:
    args = {k: v for k, v in admin_connection.items() if k != "ca_cert"}
    result = run_module(MODULE, args)
    assert result.failed
    assert result["msg"].startswith("TLS certificate validation failed for %s:636" % admin_connection["server"])
    assert "pass ca_cert with the PEM file of the CA that issued the DC certificate" in result["msg"]


def test_validate_certs_false_connects_without_the_ca(lab, domain_sid, admin_connection) -> None:
    args = {k: v for k, v in admin_connection.items() if k != "ca_cert"}
    _assert_domain(run_module(MODULE, dict(args, validate_certs=False)), lab, domain_sid)


def test_simple_bind_in_clear_text_is_refused_before_connecting(admin_connection) -> None:
    # Port 9 on the DC address is closed: the refusal must come before any connection attempt.
    result = run_module(MODULE, dict(admin_connection, tls="none", port=9))
    assert result.failed
    assert result["msg"].startswith("auth=simple with tls=none is refused")


def test_kerberos_in_clear_text_is_refused_before_connecting_unless_accepted(lab, kinit_ccache) -> None:
    # Port 9 on the DC address is closed: the refusal must come before any connection attempt.
    result = run_module(MODULE, {"server": lab["LAB_DC_HOSTNAME"], "auth": "kerberos", "tls": "none", "port": 9},
                        env=kinit_ccache)
    assert result.failed
    assert result["msg"].startswith("auth=kerberos with tls=none is refused: the collection adds no SASL signing")
    assert "allow_unsigned_ldap=true" in result["msg"]


def test_dc_requiring_strong_auth_refuses_kerberos_without_tls(lab, kinit_ccache) -> None:
    # The lab DC runs with `ldap server require strong auth = allow_sasl_over_tls`, the
    # behaviour of a Windows DC that requires LDAP signing: unsigned SASL only inside TLS.
    result = run_module(MODULE, {"server": lab["LAB_DC_HOSTNAME"], "auth": "kerberos", "tls": "none",
                                 "allow_unsigned_ldap": True}, env=kinit_ccache)
    assert result.failed
    assert "the DC requires stronger authentication (LDAP signing or TLS): use tls=ldaps or tls=starttls" \
        in result["msg"]


def test_write_access_for_administrator_and_for_an_ordinary_user(lab, admin_connection) -> None:
    targets = ["cam-svc", "OU=WebServers,%s" % lab["LAB_DOMAIN_DN"], "domain", "SERVER1"]
    admin = run_module(MODULE, dict(admin_connection, check_write=targets))
    assert not admin.failed, admin.output
    assert [e["attributes"] for e in admin["write_access"]] == [
        {"servicePrincipalName": True, "gPLink": None},
        {"servicePrincipalName": None, "gPLink": True},
        {"servicePrincipalName": None, "gPLink": True},
        {"servicePrincipalName": True, "gPLink": None},
    ]
    assert admin["write_access"][3]["dn"] == "CN=SERVER1,OU=WebServers,%s" % lab["LAB_DOMAIN_DN"]
    assert admin["write_access"][3]["object_class"] == "computer"

    webops = run_module(MODULE, dict(admin_connection, username="webops@%s" % lab["LAB_DNS_DOMAIN"],
                                     password="WebOps-Pa55!", check_write=targets))
    assert not webops.failed, webops.output
    assert [e["attributes"] for e in webops["write_access"]] == [
        {"servicePrincipalName": False, "gPLink": None},
        {"servicePrincipalName": None, "gPLink": False},
        {"servicePrincipalName": None, "gPLink": False},
        {"servicePrincipalName": False, "gPLink": None},
    ]


def test_unknown_object_in_check_write(admin_connection) -> None:
    result = run_module(MODULE, dict(admin_connection, check_write=["no-such-account"]))
    assert result.failed
    assert result["msg"].startswith("check_write=no-such-account: no such account")


def test_check_mode_is_supported(lab, domain_sid, admin_connection) -> None:
    _assert_domain(run_module(MODULE, admin_connection, check=True), lab, domain_sid)


def test_password_never_in_verbose_output(admin_connection) -> None:
    result = run_module(MODULE, admin_connection, verbosity=4)
    assert not result.failed
    assert admin_connection["password"] not in result.output


def test_kerberos_ccache_for_a_named_principal(lab, domain_sid, kinit_ccache) -> None:
    result = run_module(MODULE, {"server": lab["LAB_DC_HOSTNAME"], "auth": "kerberos", "ca_cert": lab["LAB_CA_CERT"],
                                 "username": "alice@%s" % lab["LAB_REALM"]}, env=kinit_ccache)
    _assert_domain(result, lab, domain_sid)
    assert result["bind"]["identity"] == "alice@%s" % lab["LAB_REALM"]
