"""The lab DC, looked at and set up with its own tools and with plain LDAP (never the collection's code).

* connection options for the collection (the lab's Administrator, simple bind over LDAPS, CA
  validated), as module arguments or as the ``WINAUTH_AD_*`` variables the modules document;
* ``samba_tool`` (over LDAP to the running DC, or straight on its database), ``ldbsearch`` reads of
  what the DC stored, ``ldbadd``/``ldbmodify``/``ldbdel`` writes through the DC's modules (or behind
  its back on the partition file, for states the DC itself would refuse);
* a plain ldap3 connection for set-up (OUs, computers, links);
* Kerberos: a private credential cache, ``kinit``, ``kvno``, exported keytabs.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import subprocess
import typing as t
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import ldap3

from harness import secrets


def lab(name: str) -> str:
    return os.environ[name]


def domain_dn() -> str:
    return lab("LAB_DOMAIN_DN")


def new_token() -> str:
    """A short unique token for naming test objects on the shared lab."""
    return uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------- the collection's connection options

def admin_connection(env: dict[str, str] | None = None) -> dict[str, str]:
    """Directory connection options for the lab's Administrator (simple bind over LDAPS, CA validated)."""
    values = env or os.environ
    return {"server": values["LAB_DC_HOSTNAME"], "auth": "simple", "tls": "ldaps",
            "username": "%s@%s" % (values["LAB_ADMIN_USER"], values["LAB_DNS_DOMAIN"]),
            "password": values["LAB_ADMIN_PASSWORD"], "ca_cert": values["LAB_CA_CERT"]}


def connection_env(env: dict[str, str] | None = None, username: str | None = None,
                   password: str | None = None) -> dict[str, str]:
    """The WINAUTH_AD_* variables of :func:`admin_connection` (or of another user of the lab)."""
    options = admin_connection(env)
    if username:
        options["username"] = username
    if password is not None:
        options["password"] = password
    return {"WINAUTH_AD_%s" % name.upper(): value for name, value in options.items()}


# --------------------------------------------------------------------------- the DC's own tools

def run(argv: list[str], check: bool = True, input_text: str | None = None,
        env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, input=input_text,
                          env=env or dict(os.environ), timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv[:4]), proc.returncode, proc.stdout, proc.stderr))
    return proc


def samba_tool(*args: str, check: bool = True, database: bool = False) -> subprocess.CompletedProcess:
    """samba-tool against the running DC over LDAP as the Administrator, or (``database``) on its sam.ldb.

    Over LDAP the running DC (its KDC included) sees the change at once; the database form is for
    commands that need the DC's files (or a change the DC would not make over LDAP).
    """
    if database:
        return run(["samba-tool", *args, "-H", lab("LAB_SAM_LDB")], check=check)
    return run(["samba-tool", *args, "-s", lab("LAB_SMB_CONF"), "-H", "ldap://%s" % lab("LAB_DC_HOSTNAME"),
                "-U", "%s%%%s" % (lab("LAB_ADMIN_USER"), lab("LAB_ADMIN_PASSWORD"))], check=check, timeout=60)


def ldif(ldb_filter: str, *attrs: str, url: str | None = None, base: str | None = None, scope: str | None = None) -> str:
    """ldbsearch output (comments dropped) for a filter, straight from the DC's stored data.

    Reads go to the domain partition file itself by default (what the DC has stored, read without its
    modules, and three times faster than through sam.ldb); writes go through sam.ldb.
    """
    argv = ["ldbsearch", "-H", url or lab("LAB_DOMAIN_PARTITION")]
    if base:
        argv += ["-b", base]
    if scope:
        argv += ["-s", scope]
    proc = run([*argv, ldb_filter, *attrs], check=False)
    return "\n".join(line for line in proc.stdout.splitlines() if not line.startswith(("#", "ref: ")) and line.strip())


def records(text: str) -> list[dict[str, list[str]]]:
    """The objects of ldbsearch output: attribute name -> values (folded lines joined; ``dn`` included)."""
    unfolded: list[str] = []
    for line in text.splitlines():
        if line.startswith(" ") and unfolded:
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    found: list[dict[str, list[str]]] = []
    for line in unfolded:
        if line.startswith("dn: "):
            found.append({})
        if ": " in line and found:
            key, value = line.split(": ", 1)
            found[-1].setdefault(key, []).append(value)
    return found


def ldb_values(ldb_filter: str, attr: str) -> list[str]:
    """Values of one attribute of the objects matching the filter."""
    wanted = attr.lower()
    return [v for record in records(ldif(ldb_filter, attr)) for k, vs in record.items() if k.lower() == wanted
            for v in vs]


def ldb_attributes(dn: str, *attributes: str) -> dict[str, list[str]]:
    """Attributes of one object read through the DC's database (sam.ldb); {} when it does not exist."""
    found = records(ldif("(objectClass=*)", *attributes, url=lab("LAB_SAM_LDB"), base=dn, scope="base"))
    return {k: v for k, v in found[0].items() if k != "dn"} if found else {}


def spns_of(sam: str) -> list[str]:
    return ldb_values("(sAMAccountName=%s)" % sam, "servicePrincipalName")


def sid_of(sam: str) -> str:
    return ldb_values("(sAMAccountName=%s)" % sam, "objectSid")[0]


def dn_of(sam: str) -> str:
    found = ldb_values("(sAMAccountName=%s)" % sam, "dn")
    if not found:
        raise AssertionError("no object with sAMAccountName %s" % sam)
    return found[0]


def spn_holders(spn: str) -> list[str]:
    """sAMAccountNames holding an SPN, asked of the running DC over LDAP (its KDC's view)."""
    proc = run(["ldbsearch", "-H", "ldap://%s" % lab("LAB_DC_HOSTNAME"), "-U",
                "%s%%%s" % (lab("LAB_ADMIN_USER"), lab("LAB_ADMIN_PASSWORD")), "-b", domain_dn(),
                "(servicePrincipalName=%s)" % spn, "sAMAccountName"])
    return [line.split(": ", 1)[1] for line in proc.stdout.splitlines() if line.startswith("sAMAccountName: ")]


# What a logon changes: the KDC records it on the account (and so bumps whenChanged and uSNChanged).
_LOGON_ATTRIBUTES = ("lastlogon:", "lastlogontimestamp:", "logoncount:", "badpwdcount:", "badpasswordtime:",
                     "whenchanged:", "usnchanged:")


def snapshot(*sams: str, strict: bool = True) -> str:
    """Every stored attribute of the accounts, so that any write shows.

    ``strict`` keeps uSNChanged and whenChanged: right for the tests' own accounts, which nobody
    logs on with. Seeded accounts that other suites' lab nodes log on with take ``strict=False``,
    which drops what a logon changes (every other attribute value is still compared).
    """
    text = ldif("(|%s)" % "".join("(sAMAccountName=%s)" % sam for sam in sams), "*", "uSNChanged", "whenChanged",
                "msDS-AllowedToActOnBehalfOfOtherIdentity")
    assert text.count("\ndn: ") + text.startswith("dn: ") == len(sams), "snapshot: not every account found"
    if strict:
        return text
    return "\n".join(line for line in text.replace("\n ", "").splitlines()
                     if not line.lower().startswith(_LOGON_ATTRIBUTES))


def ldb_add(ldif_text: str) -> None:
    """ldbadd through the DC's database modules (as the DC itself would add it)."""
    run(["ldbadd", "-H", lab("LAB_SAM_LDB")], input_text=ldif_text)


def ldb_modify(ldif_text: str, check: bool = True) -> None:
    """ldbmodify through the DC's database modules (its checks, SPN uniqueness among them, included)."""
    run(["ldbmodify", "-H", lab("LAB_SAM_LDB")], input_text=ldif_text, check=check)


def partition_modify(ldif_text: str) -> None:
    """ldbmodify straight on the domain partition file: skips the DC's checks (SPN uniqueness among them)."""
    run(["ldbmodify", "-H", lab("LAB_DOMAIN_PARTITION")], input_text=ldif_text)


def ldb_delete(*dns: str) -> None:
    """Delete objects through the DC's modules, ignoring the ones already gone (one ldbdel per object)."""
    for dn in dns:
        run(["ldbdel", "-H", lab("LAB_SAM_LDB"), dn], check=False)


def _unicode_pwd(password: str) -> str:
    return base64.b64encode(('"%s"' % password).encode("utf-16-le")).decode("ascii")


def user_dn(name: str) -> str:
    return "CN=%s,CN=Users,%s" % (name, domain_dn())


def computer_dn(name: str) -> str:
    return "CN=%s,CN=Computers,%s" % (name, domain_dn())


def _spn_lines(spns: t.Sequence[str]) -> str:
    return "".join("servicePrincipalName: %s\n" % value for value in spns)


def create_user(name: str, password: str, spns: t.Sequence[str] = ()) -> None:
    """A normal, enabled user with a password (so it has Kerberos keys), added through the DC's modules."""
    secrets.remember(password, "the password of test user %s" % name)
    ldb_add("dn: %s\nobjectClass: user\nsAMAccountName: %s\nuserAccountControl: 512\nunicodePwd:: %s\n%s"
            % (user_dn(name), name, _unicode_pwd(password), _spn_lines(spns)))


def create_computer(name: str, password: str | None = None, spns: t.Sequence[str] = ()) -> None:
    """A computer account NAME$ in CN=Computers, with a password (so it has Kerberos keys)."""
    secrets.remember(password, "the password of test computer %s$" % name)
    ldb_add("dn: %s\nobjectClass: computer\nsAMAccountName: %s$\nuserAccountControl: 4096\nunicodePwd:: %s\n%s"
            % (computer_dn(name), name, _unicode_pwd(password or "Computer-%s-Pa55!" % uuid.uuid4().hex),
               _spn_lines(spns)))


def delete_user(name: str) -> None:
    ldb_delete(user_dn(name))


def delete_computer(name: str) -> None:
    ldb_delete(computer_dn(name))


def add_spns(sam: str, *values: str) -> None:
    """Add SPNs through the DC's database modules (its uniqueness check included), in one ldbmodify."""
    ldb_modify("\n".join(["dn: %s" % dn_of(sam), "changetype: modify", "add: servicePrincipalName"] +
                         ["servicePrincipalName: %s" % value for value in values]) + "\n")


def remove_spns(values: list[str], sam: str) -> None:
    """Remove values from an account, whatever their case, ignoring the ones not there (one ldbmodify)."""
    wanted = {v.lower() for v in values}
    stored = [v for v in spns_of(sam) if v.lower() in wanted]
    if stored:
        ldb_modify("\n".join(["dn: %s" % dn_of(sam), "changetype: modify", "delete: servicePrincipalName"] +
                             ["servicePrincipalName: %s" % value for value in stored]) + "\n", check=False)


def move_spn(spn: str, to: str) -> None:
    """Put ``spn`` on ``to`` only, behind the collection's back (samba-tool over LDAP)."""
    for holder in spn_holders(spn):
        samba_tool("spn", "delete", spn, holder)
    samba_tool("spn", "add", spn, to)


# --------------------------------------------------------------------------- plain LDAP for set-up

def ldap_connection() -> ldap3.Connection:
    """A plain ldap3 connection as the lab's Administrator (set-up and clean-up; not the collection's code)."""
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=lab("LAB_CA_CERT"))
    server = ldap3.Server(lab("LAB_DC_HOSTNAME"), port=636, use_ssl=True, tls=tls)
    return ldap3.Connection(server, user=admin_connection()["username"], password=lab("LAB_ADMIN_PASSWORD"),
                            auto_bind=True)


def raw_value(dn: str, attribute: str) -> bytes | None:
    """An attribute's first value as the DC sends it over LDAP (bytes), or None."""
    with ldap_connection() as conn:
        conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=[attribute])
        values = conn.response[0]["raw_attributes"].get(attribute) if conn.response else None
    return bytes(values[0]) if values else None


def create_ou(conn: ldap3.Connection, dn: str, block_inheritance: bool = False) -> None:
    attributes = {"gPOptions": "1"} if block_inheritance else {}
    assert conn.add(dn, "organizationalUnit", attributes), conn.result


def create_computer_in(conn: ldap3.Connection, name: str, container_dn: str) -> str:
    """A computer account (without a password) in an OU of the test's own."""
    dn = "CN=%s,%s" % (name, container_dn)
    assert conn.add(dn, "computer", {"sAMAccountName": name + "$", "userAccountControl": "4096"}), conn.result
    return dn


def delete_tree(conn: ldap3.Connection, dn: str) -> None:
    conn.search(dn, "(objectClass=*)", search_scope=ldap3.SUBTREE, attributes=["1.1"])
    for child in sorted((e["dn"] for e in conn.response if e.get("type") == "searchResEntry"),
                        key=lambda d: d.count(","), reverse=True):
        conn.delete(child)


def gplink_of(conn: ldap3.Connection, dn: str) -> str | None:
    conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["gPLink"])
    values = conn.response[0]["raw_attributes"].get("gPLink") if conn.response else None
    return values[0].decode() if values else None


# --------------------------------------------------------------------------- Kerberos

@dataclass
class Kerberos:
    """A private credential cache and the lab's krb5.conf, for kinit/kvno runs."""

    directory: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, directory: Path) -> "Kerberos":
        return cls(directory, dict(os.environ, KRB5CCNAME="FILE:%s" % (directory / "ccache")))

    @property
    def ccache_env(self) -> dict[str, str]:
        return {"KRB5CCNAME": self.env["KRB5CCNAME"]}

    def kinit(self, principal: str, password: str, forwardable: bool = False) -> None:
        run(["kinit", *(["-f"] if forwardable else []), principal], input_text=password + "\n", env=self.env)

    def kinit_admin(self) -> dict[str, str]:
        """kinit the lab's Administrator; the environment that uses the cache."""
        self.kinit("%s@%s" % (lab("LAB_ADMIN_USER"), lab("LAB_REALM")), lab("LAB_ADMIN_PASSWORD"))
        return self.ccache_env

    def kvno(self, *args: str) -> subprocess.CompletedProcess:
        return run(["kvno", *args], check=False, env=self.env)

    def export_keytab(self, sam: str) -> Path:
        path = self.directory / ("%s.keytab" % sam.replace("$", "_"))
        run(["samba-tool", "domain", "exportkeytab", str(path), "--principal=%s" % sam, "-s", lab("LAB_SMB_CONF")])
        return path

    def ticket_etypes(self, spn: str) -> tuple[str, str]:
        """kvno of an SPN in this cache, then ``klist -e``: (session key enctype, ticket enctype)."""
        run(["kvno", spn], env=self.env)
        listing = run(["klist", "-e"], env=self.env).stdout.splitlines()
        for number, line in enumerate(listing):
            if line.split()[-1:] and line.split()[-1].split("@")[0] == spn:
                # "\trenew until 12/04/26 13:51:39, Etype (skey, tkt): aes256-cts-hmac-sha1-96, DEPRECATED:arcfour-hmac"
                etypes = next(later for later in listing[number + 1:] if "Etype (skey, tkt):" in later)
                skey, _sep, tkt = etypes.split("Etype (skey, tkt):", 1)[1].partition(",")
                return skey.strip(), tkt.strip().removeprefix("DEPRECATED:")
        raise AssertionError("klist -e shows no ticket for %s:\n%s" % (spn, "\n".join(listing)))


def set_supported_enctypes(sam: str, value: int | None) -> None:
    """Set (or with None remove) an account's msDS-SupportedEncryptionTypes over LDAP, which the KDC sees at once.

    ``4`` makes it RC4-only: the KDC then issues it RC4 tickets whatever its default (docs/lab.md).
    """
    conn = ldap_connection()
    try:
        ok = conn.modify(dn_of(sam), {"msDS-SupportedEncryptionTypes": [
            (ldap3.MODIFY_REPLACE, [] if value is None else [str(value)])]})
        assert ok, conn.result
    finally:
        conn.unbind()


@contextlib.contextmanager
def lockout_threshold(user: str, threshold: int) -> t.Iterator[str]:
    """A password settings object that locks ``user`` (only) after ``threshold`` failed logons; its name.

    Samba counts failed logons (badPwdCount) only under a lockout threshold; the domain's policy of the
    shared lab is left alone.
    """
    pso = "pso-%s" % new_token()
    samba_tool("domain", "passwordsettings", "pso", "create", pso, "1", "--account-lockout-threshold=%d" % threshold,
               "--reset-account-lockout-after=30", "--account-lockout-duration=30")
    try:
        samba_tool("domain", "passwordsettings", "pso", "apply", pso, user)
        yield pso
    finally:
        samba_tool("domain", "passwordsettings", "pso", "delete", pso)
