"""GPOs as Samba and SYSVOL show them: samba-tool gpo, Samba's own ACL mapping and GptTmpl.inf parser (under the
system Python), the DC's database, the files of SYSVOL on disk and smbclient; and GPOs made by other tools."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import ldap3

from harness.directory import delete_tree, domain_dn, lab, ldap_connection, ldb_attributes, samba_tool

SYSTEM_PYTHON = "/usr/bin/python3"
SECURITY_CSE = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
SECURITY_TOOL = "{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}"


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


def gpo_snapshot(guid: str) -> dict[str, object]:
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
                               "-U", "%s\\%s%%%s" % (lab("LAB_NETBIOS"), lab("LAB_ADMIN_USER"), lab("LAB_ADMIN_PASSWORD")),
                               "-c", "; ".join(commands)],
                              capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0 or "NT_STATUS_ACCESS_DENIED" in proc.stdout:
        raise AssertionError("smbclient put %s failed: %s" % (remote_path, (proc.stdout + proc.stderr)[-1000:]))


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
