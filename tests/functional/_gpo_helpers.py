"""Helpers of the GPO tests: run the modules with real Ansible, and look at the result with independent tools.

Independent checks use Samba's own tools and code (samba-tool gpo listall/getlink/aclcheck,
Samba's GptTmpl.inf parser and ACL mapping under the system Python, ldbsearch on the DC's
database), the files of the DC's SYSVOL on disk, and smbclient.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import ldap3

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CALLBACK_DIR = Path(__file__).resolve().parent / "_gpo_callback"
SYSTEM_PYTHON = "/usr/bin/python3"
SECURITY_CSE = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
SECURITY_TOOL = "{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}"


def lab(name: str) -> str:
    return os.environ[name]


def password() -> str:
    return lab("LAB_ADMIN_PASSWORD")


def domain_dn() -> str:
    return lab("LAB_DOMAIN_DN")


def connection_args() -> dict[str, str]:
    return {"server": lab("LAB_DC_HOSTNAME"), "auth": "simple", "tls": "ldaps",
            "username": "%s@%s" % (lab("LAB_ADMIN_USER"), lab("LAB_DNS_DOMAIN")), "password": password(),
            "ca_cert": lab("LAB_CA_CERT")}


def token() -> str:
    return uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------- running Ansible

class PlayError(AssertionError):
    pass


def kerberos_ccache(directory: Path) -> dict[str, str]:
    """kinit the lab's Administrator into a credential cache of its own; the environment that uses it."""
    ccache = directory / "krb5cc"
    env = dict(os.environ, KRB5CCNAME="FILE:%s" % ccache)
    principal = "%s@%s" % (lab("LAB_ADMIN_USER"), lab("LAB_REALM"))
    proc = subprocess.run(["kinit", principal], input=password() + "\n", capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError("kinit %s failed: %s" % (principal, proc.stderr))
    return {"KRB5CCNAME": env["KRB5CCNAME"]}


def run_play(tasks: list[dict], *, check: bool = False, diff: bool = False, timeout: float = 300,
             connection: dict[str, str] | None = None, env_extra: dict[str, str] | None = None) -> list[dict]:
    """Run ``tasks`` on localhost with ansible-playbook; return each task's result (plus ``_status``).

    The connection options (``connection``, by default a simple bind as the lab's Administrator)
    come from ``module_defaults`` for the ``group/webfarm.winauth.ad`` action group. Every task
    ignores errors, so failures are returned, not raised. The admin password must never appear
    in Ansible's output.
    """
    play = [{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": sys.executable},
        "module_defaults": {"group/webfarm.winauth.ad": connection or connection_args()},
        "tasks": [dict(task, ignore_errors=True) for task in tasks],
    }]
    env = dict(os.environ, **(env_extra or {}))
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build" / "collections"),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
        "ANSIBLE_STDOUT_CALLBACK": "gpo_json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "PATH": "%s:%s" % (VENV_BIN, env.get("PATH", "")),
    })
    with tempfile.TemporaryDirectory(prefix="gpo-play-") as tmp:
        playbook = Path(tmp) / "play.yml"
        playbook.write_text(json.dumps(play))
        os.chmod(playbook, 0o600)
        argv = [str(VENV_BIN / "ansible-playbook"), str(playbook)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False,
                              cwd=str(REPO))
    output = proc.stdout + proc.stderr
    if password() in output:
        raise PlayError("the admin password appeared in Ansible's output")
    results = []
    for line in proc.stdout.splitlines():
        if line.startswith("GPO_RESULT "):
            record = json.loads(line[len("GPO_RESULT "):])
            results.append(dict(record["result"], _status=record["status"]))
    if len(results) != len(tasks):
        raise PlayError("expected %d task results, got %d:\n%s" % (len(tasks), len(results), output[-4000:]))
    return results


def task(module: str, args: dict, *, check: bool = False, diff: bool = False) -> dict:
    """One task; ``check``/``diff`` set the task's own check_mode/diff keywords."""
    keywords: dict[str, object] = {"name": module, "webfarm.winauth.%s" % module: args}
    if check:
        keywords["check_mode"] = True
    if diff:
        keywords["diff"] = True
    return keywords


def run_module(module: str, args: dict, *, check: bool = False, diff: bool = False) -> dict:
    return run_play([task(module, args)], check=check, diff=diff)[0]


def failed(result: dict) -> bool:
    return result["_status"] == "failed" or bool(result.get("failed"))


# --------------------------------------------------------------------------- independent checks

def samba_tool(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["samba-tool", *args, "-s", lab("LAB_SMB_CONF"), "-H", "ldap://%s" % lab("LAB_DC_HOSTNAME"),
            "-U", lab("LAB_ADMIN_USER"), "--password", password()]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("samba-tool %s failed: %s" % (" ".join(args[:3]), proc.stderr[-2000:]))
    return proc


def _records(text: str) -> list[dict[str, str]]:
    records, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
            current = {}
            continue
        if ":" in line:
            key, value = line.split(":", 1)
            current[key.strip()] = value.strip()
    if current:
        records.append(current)
    return records


def listall() -> dict[str, dict[str, str]]:
    """GUID -> samba-tool gpo listall record (display name, path, dn, version, flags)."""
    return {r["GPO"].upper(): r for r in _records(samba_tool("gpo", "listall").stdout) if "GPO" in r}


def getlink(container_dn: str) -> list[tuple[str, str]]:
    """(GUID, options) of a container's links as samba-tool prints them: in gPLink string order,
    which is the reverse of GPMC's link order."""
    out = samba_tool("gpo", "getlink", container_dn).stdout
    return [(r["GPO"].upper(), r["Options"]) for r in _records(out) if "GPO" in r]


_ACL_SCRIPT = r"""
import os, sys
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.credentials import Credentials
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.ntacls import dsacl2fsacl
from samba.samba3 import libsmb_samba_internal as libsmb
from samba.samba3 import param as s3param
lp = LoadParm(); lp.load(os.environ["LAB_SMB_CONF"])
creds = Credentials(); creds.guess(lp)
creds.set_username(os.environ["LAB_ADMIN_USER"]); creds.set_password(os.environ["LAB_ADMIN_PASSWORD"])
creds.set_domain(os.environ["LAB_NETBIOS"])
samdb = SamDB(url="ldap://" + os.environ["LAB_DC_HOSTNAME"], credentials=creds, lp=lp)
guid = sys.argv[1]
dn = "CN=%s,CN=Policies,CN=System,%s" % (guid, samdb.domain_dn())
msg = samdb.search(dn, scope=0, attrs=["nTSecurityDescriptor"], controls=["sd_flags:1:7"])[0]
sid = security.dom_sid(samdb.get_domain_sid())
expected = dsacl2fsacl(ndr_unpack(security.descriptor, msg["nTSecurityDescriptor"][0]).as_sddl(sid), sid)
s3 = s3param.get_context(); s3.load(lp.configfile)
conn = libsmb.Conn(os.environ["LAB_DC_HOSTNAME"], "sysvol", lp=s3, creds=creds)
path = "%s\\Policies\\%s" % (os.environ["LAB_DNS_DOMAIN"], guid)
actual = conn.get_acl(path, 7, security.SEC_FLAG_MAXIMUM_ALLOWED).as_sddl(sid)
print(expected)
print(actual)
"""


def samba_acl_check(guid: str) -> tuple[str, str]:
    """(expected, actual) SDDL of a GPO folder, computed exactly as samba-tool gpo aclcheck does, for one GPO."""
    proc = subprocess.run([SYSTEM_PYTHON, "-c", _ACL_SCRIPT, guid], capture_output=True, text=True, timeout=60,
                          check=False)
    if proc.returncode != 0:
        raise AssertionError("Samba ACL check failed: %s" % proc.stderr[-2000:])
    expected, actual = proc.stdout.splitlines()[:2]
    return expected, actual


_INF_SCRIPT = r"""
import json, sys
from samba.gp_parse.gp_inf import GptTmplInfParser
parser = GptTmplInfParser()
parser.parse(open(sys.argv[1], "rb").read())
print(json.dumps({name: [list(p) if isinstance(p, tuple) else p for p in section.param_list]
                  for name, section in parser.sections.items() if getattr(section, "param_list", None)}))
"""


def samba_parse_inf(path: Path) -> dict:
    """Sections of a GptTmpl.inf as Samba's own parser (samba.gp_parse.gp_inf) reads them."""
    proc = subprocess.run([SYSTEM_PYTHON, "-c", _INF_SCRIPT, str(path)], capture_output=True, text=True, timeout=60,
                          check=False)
    if proc.returncode != 0:
        raise AssertionError("Samba's GptTmplInfParser failed: %s" % proc.stderr[-2000:])
    return json.loads(proc.stdout)


def ldb_attributes(dn: str, *attributes: str) -> dict[str, list[str]]:
    """Attributes of one object read straight from the DC's database with ldbsearch."""
    proc = subprocess.run(["ldbsearch", "-H", lab("LAB_SAM_LDB"), "-b", dn, "-s", "base", "(objectClass=*)",
                           *attributes], capture_output=True, text=True, timeout=60, check=False)
    if "No such" in proc.stdout + proc.stderr or "returned 0 records" in proc.stdout:
        return {}
    unfolded: list[str] = []
    for line in proc.stdout.splitlines():
        if line.startswith(" ") and unfolded:
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    values: dict[str, list[str]] = {}
    for line in unfolded:
        if ": " in line and not line.startswith("#"):
            key, value = line.split(": ", 1)
            if key != "dn":
                values.setdefault(key, []).append(value)
    return values


def gpo_exists(guid: str) -> bool:
    """Whether the DC's database holds the GPO's container (ldbsearch)."""
    return bool(ldb_attributes("CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()), "objectClass"))


def gpo_named(name: str) -> list[str]:
    """GUIDs of the containers with this display name (ldbsearch)."""
    proc = subprocess.run(["ldbsearch", "-H", lab("LAB_SAM_LDB"), "-b", "CN=Policies,CN=System,%s" % domain_dn(),
                           "-s", "one", "(displayName=%s)" % name, "name"], capture_output=True, text=True,
                          timeout=60, check=False)
    return [line.split(": ", 1)[1].upper() for line in proc.stdout.splitlines() if line.startswith("name: ")]


def directory_version(guid: str) -> int:
    found = ldb_attributes("CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()), "versionNumber")
    return int(found["versionNumber"][0]) & 0xFFFFFFFF


def sysvol_dir(guid: str) -> Path:
    return Path(lab("LAB_SYSVOL")) / lab("LAB_DNS_DOMAIN") / "Policies" / guid


def inf_path(guid: str) -> Path:
    return sysvol_dir(guid) / "Machine" / "Microsoft" / "Windows NT" / "SecEdit" / "GptTmpl.inf"


def read_bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def gpt_ini_version(guid: str) -> int:
    text = (sysvol_dir(guid) / "GPT.INI").read_bytes()
    for line in text.splitlines():
        if line.strip().lower().startswith(b"version"):
            return int(line.split(b"=", 1)[1].strip())
    raise AssertionError("GPT.INI of %s has no Version" % guid)


def snapshot(guid: str) -> dict[str, object]:
    """Everything a GPO edit may touch, read with independent tools (SYSVOL files and the DC's database)."""
    files = {}
    root = sysvol_dir(guid)
    if root.exists():
        for path in sorted(root.rglob("*")):
            files[str(path.relative_to(root))] = path.read_bytes() if path.is_file() else b"<dir>"
    return {"files": files, "ldb": ldb_attributes("CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()),
                                                  "versionNumber", "gPCMachineExtensionNames", "displayName")}


def smb_put(remote_path: str, data: bytes) -> None:
    """Write a file into SYSVOL with Samba's smbclient (creating its folders), as another tool would."""
    folders = remote_path.split("\\")[:-1]
    commands = ['mkdir "%s"' % "\\".join(folders[:depth]) for depth in range(1, len(folders) + 1)]
    with tempfile.NamedTemporaryFile(prefix="gpo-put-") as handle:
        handle.write(data)
        handle.flush()
        commands.append('put "%s" "%s"' % (handle.name, remote_path))
        proc = subprocess.run(["smbclient", "//%s/sysvol" % lab("LAB_DC_HOSTNAME"), "-s", lab("LAB_SMB_CONF"),
                               "-U", "%s\\%s%%%s" % (lab("LAB_NETBIOS"), lab("LAB_ADMIN_USER"), password()),
                               "-c", "; ".join(commands)],
                              capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0 or "NT_STATUS_ACCESS_DENIED" in proc.stdout:
        raise AssertionError("smbclient put %s failed: %s" % (remote_path, (proc.stdout + proc.stderr)[-1000:]))


# --------------------------------------------------------------------------- directory set-up and clean-up

def ldap_connection() -> ldap3.Connection:
    """A plain ldap3 connection for test set-up (not the collection's code)."""
    import ssl  # pylint: disable=import-outside-toplevel

    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=lab("LAB_CA_CERT"))
    server = ldap3.Server(lab("LAB_DC_HOSTNAME"), port=636, use_ssl=True, tls=tls)
    return ldap3.Connection(server, user=connection_args()["username"], password=password(), auto_bind=True)


def create_ou(conn: ldap3.Connection, dn: str, block_inheritance: bool = False) -> None:
    attributes = {"gPOptions": "1"} if block_inheritance else {}
    assert conn.add(dn, "organizationalUnit", attributes), conn.result


def create_computer(conn: ldap3.Connection, name: str, container_dn: str) -> str:
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


def create_gpo_with_samba_tool(name: str) -> str:
    out = samba_tool("gpo", "create", name).stdout
    guid = out.strip().rsplit(" ", 1)[-1]
    assert guid.startswith("{"), out
    return guid.upper()


def remove_gpo(guid: str | None) -> None:
    """Best-effort clean-up of a test GPO: its links, its container (plain LDAP) and its folder (on disk)."""
    if not guid:
        return
    with ldap_connection() as conn:
        conn.search(domain_dn(), "(gPLink=*%s*)" % guid, attributes=["gPLink"])
        for entry in [e for e in conn.response if e.get("type") == "searchResEntry"]:
            value = entry["raw_attributes"]["gPLink"][0].decode()
            kept = "".join(part + "]" for part in value.split("]") if part and guid.lower() not in part.lower())
            conn.modify(entry["dn"], {"gPLink": [(ldap3.MODIFY_REPLACE, [kept] if kept else [])]})
        delete_tree(conn, "CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()))
    folder = sysvol_dir(guid)
    if folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=False)


# --------------------------------------------------------------------------- a GPO as Windows leaves it

REGISTRY_CSE = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]"
EFS_CSE = "[{B1BE8D72-6EAC-11D2-A4EA-00C04F79F83A}{53D6AB1B-2488-11D1-A28C-00C04FB94F17}]"
SECURITY_PAIR = "[%s%s]" % (SECURITY_CSE, SECURITY_TOOL)
# Our own template in the layout of the Windows security editor: [Version] last, a name holder (Guest).
EDITOR_TEMPLATE = [
    "[Unicode]",
    "Unicode=yes",
    "[System Access]",
    "MinimumPasswordAge = 1",
    "PasswordComplexity = 1",
    "[Event Audit]",
    "AuditLogonEvents = 3",
    "[Registry Values]",
    'MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\AllocateDASD=1,"0"',
    "[Privilege Rights]",
    "SeServiceLogonRight = *S-1-5-20",
    "SeDenyBatchLogonRight = *S-1-5-32-546,Guest",
    "SeInteractiveLogonRight = *S-1-5-32-544",
    "[Version]",
    'signature="$CHICAGO$"',
    "Revision=1",
]
# GPT.INI as Windows writes it: ANSI code page (here cp1251) display name; user version 2, computer version 3.
EDITOR_VERSION = (2 << 16) | 3
EDITOR_GPT_INI = b"[General]\r\nVersion=%d\r\ndisplayName=" % EDITOR_VERSION + \
    "Политика веб-фермы".encode("cp1251") + b"\r\n"


def editor_template_bytes() -> bytes:
    return b"\xff\xfe" + "".join(line + "\r\n" for line in EDITOR_TEMPLATE).encode("utf-16-le")


def gpo_edited_elsewhere(name: str) -> str:
    """A GPO made by samba-tool gpo create, then given settings by other tools (the Windows editor, GPMC)."""
    guid = create_gpo_with_samba_tool(name)
    folder = "%s\\Policies\\%s" % (lab("LAB_DNS_DOMAIN"), guid)
    smb_put(folder + "\\Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf", editor_template_bytes())
    smb_put(folder + "\\GPT.INI", EDITOR_GPT_INI)
    with ldap_connection() as conn:
        assert conn.modify("CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()), {
            "versionNumber": [(ldap3.MODIFY_REPLACE, [str(EDITOR_VERSION)])],
            "gPCMachineExtensionNames": [(ldap3.MODIFY_REPLACE, [REGISTRY_CSE + EFS_CSE])]}), conn.result
    return guid


def account_sid(dn: str) -> str:
    return ldb_attributes(dn, "objectSid")["objectSid"][0]
