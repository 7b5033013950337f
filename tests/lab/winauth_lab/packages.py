# Internal to the webfarm.winauth lab: test infrastructure, not part of the collection's API.
"""The Debian packages `make demo` and `make test` need: install what bindep.txt lists, then prove it.

bindep.txt is the one list (its ``platform:dpkg`` lines). Installing it is not enough to trust it:
Debian moves files between packages (samba 4.17.12 moved the AD schema that ``samba-tool domain
provision`` reads into ``samba-ad-provision``, which ``samba-ad-dc`` only *recommends*, and we never
install Recommends). So after installing, every file or command the lab uses is looked for, and a
missing one is reported in one line that names the package that brings it.

Standard library only: ``make deps`` runs this with the machine's Python before any venv exists
(``python3 tests/lab/winauth_lab/packages.py``); the lab's ``deps`` command and ``up`` use it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BINDEP = Path(__file__).resolve().parents[3] / "bindep.txt"

# Debian starts the daemons it installs; the lab runs its own on its own addresses. While it installs, a
# policy-rc.d forbids starting any (so no sshd of the machine's appears on port 22); these are stopped afterwards
# in case a machine without that mechanism started them. sshd is never stopped: the machine may have its own.
PACKAGED_DAEMONS = ("samba-ad-dc", "smbd", "nmbd", "winbind", "haproxy")
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


@dataclass(frozen=True)
class Need:
    """One thing the lab uses, how to see that it is there, and the Debian package that brings it."""

    package: str
    command: str = ""
    path: str = ""
    why: str = ""

    def present(self, root: Path = Path("/")) -> bool:
        if self.command:
            return shutil.which(self.command) is not None
        return (root / self.path.lstrip("/")).exists()

    @property
    def what(self) -> str:
        return "command %s" % self.command if self.command else self.path


NEEDS = (
    Need("gcc", command="gcc", why="builds gssapi and krb5 for the venv"),
    Need("libkrb5-dev", command="krb5-config", why="Kerberos headers for gssapi and krb5"),
    Need("krb5-user", command="kinit", why="Kerberos tickets in the tests"),
    Need("krb5-user", command="kvno", why="service tickets in the verification"),
    Need("samba-ad-dc", command="samba", why="the lab's domain controller"),
    Need("samba-common-bin", command="samba-tool", why="provisions and inspects the lab's domain"),
    Need("samba-ad-provision", path="/usr/share/samba/setup/ad-schema/MS-AD_Schema_2K8_R2_Attributes.txt",
         why="the AD schema samba-tool domain provision reads"),
    Need("samba-ad-provision", path="/usr/share/samba/setup/provision.ldif",
         why="the objects samba-tool domain provision writes"),
    Need("python3-samba", path="/usr/lib/python3/dist-packages/samba/samdb.py", why="samba-tool's Python"),
    Need("smbclient", command="smbclient", why="reads SYSVOL in the tests"),
    Need("ldb-tools", command="ldbmodify", why="plants directory states the DC would refuse"),
    Need("ldb-tools", command="ldbsearch", why="reads the directory behind LDAP"),
    Need("winbind", command="wbinfo", why="samba-ad-dc's winbind"),
    Need("haproxy", command="haproxy", why="the L4 load balancer in front of SERVER1/SERVER2"),
    Need("graphviz", command="dot", why="renders the farm audit's picture"),
    Need("curl", command="curl", why="a real NTLM/Negotiate client in the tests"),
    Need("firefox-esr", command="firefox-esr", why="renders the change plan's HTML page in the tests (headless)"),
    Need("openssh-server", path="/usr/sbin/sshd", why="the lab nodes' SSH listeners"),
    Need("libnss-wrapper", path="/usr/lib/x86_64-linux-gnu/libnss_wrapper.so",
         why="lets the lab's sshd know the domain's user names"),
)


def bindep_packages(bindep: Path = BINDEP) -> list[str]:
    """The Debian package names bindep.txt lists, in file order."""
    names = []
    for line in bindep.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "platform:dpkg" in line:
            names.append(line.split()[0])
    return names


def installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                            check=False)
    return result.returncode == 0 and "install ok installed" in result.stdout


def unmet(listed: list[str], root: Path = Path("/")) -> list[str]:
    """One line per package whose files are missing: what is missing, what for, and how to get it."""
    by_package: dict[str, list[Need]] = {}
    for need in NEEDS:
        if not need.present(root):
            by_package.setdefault(need.package, []).append(need)
    lines = []
    for package, needs in by_package.items():
        how = ("it is in bindep.txt but not installed: apt-get update && apt-get install %s" % package
               if package in listed else "bindep.txt does not list it: add it there (the lab never installs "
               "Debian Recommends)")
        lines.append("missing Debian package %s (%s, %s); %s"
                     % (package, ", ".join(n.what for n in needs), needs[0].why, how))
    return lines


def install(packages: list[str]) -> None:
    print("installing Debian packages: %s" % " ".join(packages), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    own_policy = not POLICY_RC_D.exists()
    if own_policy:
        POLICY_RC_D.write_text("#!/bin/sh\n# written by the webfarm.winauth lab while it installs packages\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True,
                       env=env, stdout=subprocess.DEVNULL)
    finally:
        if own_policy:
            POLICY_RC_D.unlink(missing_ok=True)
    for unit in PACKAGED_DAEMONS:
        subprocess.run(["systemctl", "stop", unit], check=False, capture_output=True)


def ensure(bindep: Path = BINDEP) -> list[str]:
    """Install what bindep.txt lists and is missing (as root), then return the unmet needs (empty: all there)."""
    listed = bindep_packages(bindep)
    missing = [pkg for pkg in listed if not installed(pkg)]
    if missing:
        if os.geteuid() != 0:
            return ["missing Debian packages %s; run as root: apt-get update && apt-get install %s"
                    % (", ".join(missing), " ".join(missing))]
        install(missing)
    return unmet(listed)


def main() -> int:
    problems = ensure()
    for line in problems:
        print("lab: %s" % line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
