# Internal to the webfarm.winauth lab.
"""A throwaway Samba AD DC on a loopback address.

Everything lives under the lab directory (``build/lab`` in the repository by
default): the provisioned database, SYSVOL, a snapshot of the seeded state for
fast resets, the lab CA, a krb5.conf and the env file. Nothing is written to the
machine's own Samba or Kerberos configuration; the only file outside the lab
directory is a marked, removable block in /etc/hosts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import tls

SAMBA_PORTS = (88, 389, 445, 636, 3268, 3269)
SYSTEM_PYTHON = "/usr/bin/python3"
HOSTS_FILE = Path("/etc/hosts")
HOSTS_BEGIN = "# BEGIN webfarm.winauth lab"
HOSTS_END = "# END webfarm.winauth lab"

# The KDC's default for accounts without msDS-SupportedEncryptionTypes (docs/lab.md, "KDC profiles"):
# "2026" is a DC after the January 2026 updates in enforcement (AES only), "legacy" one before them
# (Samba's and Windows' old default: RC4 tickets, AES session keys).
KDC_PROFILES = {"2026": "aes128-cts aes256-cts", "legacy": None}
DEFAULT_KDC_PROFILE = "2026"


def requested_kdc_profile() -> str:
    """The profile LAB_KDC_PROFILE asks for (the default when unset); an unknown name is refused."""
    name = os.environ.get("LAB_KDC_PROFILE", "").strip() or DEFAULT_KDC_PROFILE
    if name not in KDC_PROFILES:
        raise LabError("LAB_KDC_PROFILE=%s is not a KDC profile; use one of: %s"
                       % (name, ", ".join(sorted(KDC_PROFILES))))
    return name


class LabError(Exception):
    """A lab operation failed; the message says what to do."""


@dataclass
class Seed:
    """The declarative description of the lab directory (tests/lab/seed.yml)."""

    raw: dict
    digest: str
    realm: str = field(init=False)
    netbios: str = field(init=False)
    dns_domain: str = field(init=False)
    base_dn: str = field(init=False)
    dc_hostname: str = field(init=False)
    dc_address: str = field(init=False)
    admin_password: str = field(init=False)

    def __post_init__(self) -> None:
        self.realm = self.raw["realm"].upper()
        self.netbios = self.raw["netbios"].upper()
        self.dns_domain = self.realm.lower()
        self.base_dn = ",".join("DC=%s" % part for part in self.dns_domain.split("."))
        self.dc_hostname = self.raw["dc"]["hostname"].upper()
        self.dc_address = os.environ.get("LAB_DC_ADDRESS", self.raw["dc"]["address"])
        self.admin_password = self.raw["admin_password"]

    @property
    def dc_fqdn(self) -> str:
        return "%s.%s" % (self.dc_hostname.lower(), self.dns_domain)

    @classmethod
    def load(cls, path: Path) -> "Seed":
        text = path.read_bytes()
        return cls(raw=yaml.safe_load(text), digest=hashlib.sha256(text).hexdigest())


def _port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise LabError("command failed (%s): %s\n%s%s" % (result.returncode, " ".join(argv[:3]), result.stdout[-2000:],
                                                          result.stderr[-2000:]))
    return result


class SambaDC:
    """Provision, seed, snapshot, start, stop and reset the lab DC."""

    def __init__(self, lab_dir: Path, seed: Seed) -> None:
        self.lab_dir = lab_dir
        self.seed = seed
        self.dc_dir = lab_dir / "dc"
        self.snapshot_dir = lab_dir / "dc.snapshot"
        self.tls_dir = lab_dir / "tls"
        self.smb_conf = self.dc_dir / "etc" / "smb.conf"
        self.log_file = lab_dir / "samba.log"
        self.pid_file = lab_dir / "samba.pid"
        self.krb5_conf = lab_dir / "krb5.conf"
        self.profile_file = lab_dir / "kdc-profile"

    # -- state -------------------------------------------------------------
    @property
    def sam_ldb(self) -> Path:
        return self.dc_dir / "private" / "sam.ldb"

    @property
    def domain_partition(self) -> Path:
        return self.dc_dir / "private" / "sam.ldb.d" / ("%s.ldb" % self.seed.base_dn.upper())

    @property
    def sysvol(self) -> Path:
        return self.dc_dir / "state" / "sysvol"

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        return _pid_alive(self.pid()) and all(_port_open(self.seed.dc_address, p) for p in SAMBA_PORTS)

    def running_profile(self) -> str | None:
        """The KDC profile the running DC was started with (None when it is down or predates profiles)."""
        if not self.running():
            return None
        try:
            return self.profile_file.read_text().strip() or None
        except OSError:
            return None

    def provisioned(self) -> bool:
        marker = self.snapshot_dir / ".seed-digest"
        return marker.exists() and marker.read_text().strip() == self.seed.digest

    # -- provisioning ------------------------------------------------------
    def provision(self) -> None:
        """Provision and seed a new domain, then keep a snapshot of it."""
        for path in (self.dc_dir, self.snapshot_dir):
            if path.exists():
                shutil.rmtree(path)
        _run(["samba-tool", "domain", "provision", "--targetdir=%s" % self.dc_dir,
              "--realm=%s" % self.seed.realm, "--domain=%s" % self.seed.netbios, "--server-role=dc",
              "--dns-backend=NONE", "--host-name=%s" % self.seed.dc_hostname,
              "--adminpass=%s" % self.seed.admin_password])
        self.write_smb_conf(DEFAULT_KDC_PROFILE)
        spec = dict(self.seed.raw, smb_conf=str(self.smb_conf), sam_ldb=str(self.sam_ldb), realm=self.seed.realm)
        _run([SYSTEM_PYTHON, str(Path(__file__).with_name("_samba_seed.py"))], input=json.dumps(spec))
        subprocess.run(["cp", "-a", str(self.dc_dir), str(self.snapshot_dir)], check=True)
        (self.snapshot_dir / ".seed-digest").write_text(self.seed.digest + "\n")

    def write_smb_conf(self, profile: str) -> None:
        """Write smb.conf for a KDC profile; written again before every start, so a profile is a restart away."""
        ca = tls.ensure_ca(self.tls_dir, self.seed.realm)
        cert, key = tls.issue_server_cert(
            self.tls_dir, "dc", [self.seed.dc_fqdn, self.seed.dns_domain, self.seed.dc_hostname.lower()],
            [self.seed.dc_address])
        enctypes = KDC_PROFILES[profile]
        kdc_default = ("    kdc default domain supported enctypes = %s\n" % enctypes) if enctypes else ""
        d = self.dc_dir
        run_dir = d / "run"
        run_dir.mkdir(exist_ok=True)
        conf = f"""# Samba AD DC of the webfarm.winauth lab. Throwaway; loopback only.
[global]
    netbios name = {self.seed.dc_hostname}
    realm = {self.seed.realm}
    workgroup = {self.seed.netbios}
    server role = active directory domain controller
    interfaces = {self.seed.dc_address}/8
    bind interfaces only = yes
    disable netbios = yes
    smb ports = 445
    server services = -nbt -wrepl -dnsupdate -ntp_signd -dns
    dns proxy = no
    private dir = {d}/private
    binddns dir = {d}/bind-dns
    lock directory = {d}
    state directory = {d}/state
    cache directory = {d}/cache
    pid directory = {run_dir}
    ncalrpc dir = {run_dir}/ncalrpc
    # winbindd keeps its default socket directory (/run/samba/winbindd): smbd
    # reaches it through libwbclient, which does not read smb.conf.
    ntp signd socket directory = {run_dir}/ntp_signd
    log file = {self.lab_dir}/samba.%m.log
    logging = file
    log level = 1
    # Behave like a Windows DC that requires LDAP signing: simple binds need
    # TLS, and SASL binds without sign/seal are accepted only over TLS.
    ldap server require strong auth = allow_sasl_over_tls
    tls enabled = yes
    tls cafile = {ca}
    tls certfile = {cert}
    tls keyfile = {key}
    tls crlfile =
    kerberos encryption types = all
    # KDC profile "{profile}" (LAB_KDC_PROFILE): the enctypes of service tickets for accounts
    # without msDS-SupportedEncryptionTypes (Windows: DefaultDomainSupportedEncTypes).
{kdc_default}    printing = bsd
    printcap name = /dev/null
    load printers = no
    disable spoolss = yes

[sysvol]
    path = {d}/state/sysvol
    read only = No

[netlogon]
    path = {d}/state/sysvol/{self.seed.dns_domain}/scripts
    read only = No
"""
        self.smb_conf.write_text(conf)

    # -- process control ---------------------------------------------------
    def start(self, profile: str = DEFAULT_KDC_PROFILE, timeout: float = 60.0) -> None:
        if self.running():
            return
        self.write_smb_conf(profile)
        busy = [p for p in SAMBA_PORTS if _port_open(self.seed.dc_address, p)]
        if busy:
            raise LabError("ports %s on %s are already taken by another process; stop it or set LAB_DC_ADDRESS"
                           % (busy, self.seed.dc_address))
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(["samba", "-s", str(self.smb_conf), "-i", "-M", "single", "--debug-stdout"],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.pid_file.write_text("%d\n" % proc.pid)
        self.profile_file.write_text(profile + "\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError("samba exited with %s during start-up; see %s" % (proc.returncode, self.log_file))
            if all(_port_open(self.seed.dc_address, p, 0.2) for p in SAMBA_PORTS):
                return
            time.sleep(0.1)
        self.stop()
        raise LabError("samba did not open %s on %s within %ss; see %s"
                       % (SAMBA_PORTS, self.seed.dc_address, timeout, self.log_file))

    def stop(self, timeout: float = 15.0) -> None:
        pid = self.pid()
        if pid and _pid_alive(pid):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and _pid_alive(pid):
                    time.sleep(0.05)
                if not _pid_alive(pid):
                    break
        self.pid_file.unlink(missing_ok=True)
        self.profile_file.unlink(missing_ok=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_port_open(self.seed.dc_address, p, 0.1) for p in SAMBA_PORTS):
            time.sleep(0.1)

    def restore_snapshot(self) -> None:
        if not self.provisioned():
            raise LabError("no snapshot of the seeded lab; run `make lab-up` first")
        if self.dc_dir.exists():
            shutil.rmtree(self.dc_dir)
        subprocess.run(["cp", "-a", str(self.snapshot_dir), str(self.dc_dir)], check=True)
        (self.dc_dir / ".seed-digest").unlink(missing_ok=True)

    # -- client side files -------------------------------------------------
    def write_krb5_conf(self) -> None:
        realm = self.seed.realm
        self.krb5_conf.write_text(f"""# Kerberos client configuration for the webfarm.winauth lab only.
[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 0
    default_ccache_name = FILE:{self.lab_dir}/krb5cc_default

[realms]
    {realm} = {{
        kdc = {self.seed.dc_address}
        admin_server = {self.seed.dc_address}
    }}

[domain_realm]
    .{self.seed.dns_domain} = {realm}
    {self.seed.dns_domain} = {realm}
""")


def hosts_entries(seed: Seed) -> list[str]:
    """The /etc/hosts lines that make the lab's names resolve."""
    dom = seed.dns_domain
    lines = ["%s %s %s %s" % (seed.dc_address, seed.dc_fqdn, seed.dc_hostname.lower(), dom)]
    for computer in seed.raw.get("computers", []):
        short = computer["name"].lower()
        lines.append("%s %s.%s %s" % (computer["address"], short, dom, short))
    for alias, address in (seed.raw.get("aliases") or {}).items():
        lines.append("%s %s.%s %s" % (address, alias, dom, alias))
    return lines


def write_hosts_block(lines: list[str] | None) -> None:
    """Replace (or, with None, remove) the lab's marked block in /etc/hosts."""
    try:
        current = HOSTS_FILE.read_text()
    except OSError:
        current = ""
    kept, inside = [], False
    for line in current.splitlines():
        if line.strip() == HOSTS_BEGIN:
            inside = True
            continue
        if line.strip() == HOSTS_END:
            inside = False
            continue
        if not inside:
            kept.append(line)
    if lines:
        kept += [HOSTS_BEGIN] + lines + [HOSTS_END]
    new = "\n".join(kept) + "\n"
    if new == current:
        return
    try:
        # /etc/hosts is often a bind mount: rewrite in place rather than rename.
        HOSTS_FILE.write_text(new)
    except OSError as exc:
        raise LabError("cannot update %s (%s): run as root, or add these lines yourself:\n%s"
                       % (HOSTS_FILE, exc, "\n".join(lines or []))) from exc
