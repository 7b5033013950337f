# Internal to the webfarm.winauth lab.
"""The worker processes of a lab node's application pools (started as WAS does) and the keys that decrypt tickets.

A domain identity's worker starts when its password binds to the lab DC and the account holds the
batch-logon right on the node (the twin's ``user_rights``); keytabs are exported from the lab AD.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from . import webconfig
from .iis import runtime, scripts
from .webnode import Logs, WebConfig

FAILED_LOGON_RETRY = 2.0       # seconds before a failed worker start is tried again
KEYTAB_TTL = 30.0               # seconds an exported pool-identity keytab is trusted before re-export
# Well-known SIDs in the token of a domain account's batch logon. Not IIS_IUSRS: IIS adds the virtual
# ApplicationPoolIdentity accounts to it at run time, but a domain account logs on (LogonUser, batch) before
# any such membership, so it needs the right itself or through a group it really belongs to.
_TOKEN_WELL_KNOWN = ("S-1-1-0", "S-1-5-11", "S-1-5-3", "S-1-5-32-545")


class Keys:
    """Keytabs of the accounts whose keys decrypt tickets on this node (exported from the lab AD)."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.dir = config.web_dir / "keytabs"
        self.locks: dict[str, threading.Lock] = {}
        self.guard = threading.Lock()

    def keytab(self, account: str) -> Path:
        if account.upper() == "%s$" % self.config.name.upper():
            return Path(self.config.computer_keytab)      # the node's own, exported by the node fleet
        safe = "".join(c if c.isalnum() or c in "-_.$" else "_" for c in account.lower())
        path = self.dir / ("%s.keytab" % safe)
        with self.guard:
            lock = self.locks.setdefault(safe, threading.Lock())
        with lock:
            try:
                fresh = time.time() - path.stat().st_mtime < KEYTAB_TTL
            except OSError:
                fresh = False
            if fresh:
                return path
            self.dir.mkdir(parents=True, exist_ok=True)
            scratch = path.with_suffix(".new")
            scratch.unlink(missing_ok=True)
            proc = subprocess.run(["samba-tool", "domain", "exportkeytab", str(scratch), "--principal=%s" % account,
                                   "-s", self.config.smb_conf], capture_output=True, text=True, timeout=60,
                                  check=False)
            if proc.returncode != 0 or not scratch.exists():
                raise KeyError("cannot export the keys of %s from the lab AD: %s"
                               % (account, (proc.stdout + proc.stderr).strip()[-300:]))
            os.chmod(scratch, 0o600)
            os.replace(scratch, path)
            return path


# --- worker processes (application pool logon) -----------------------------------------------------

@dataclass
class Worker:
    signature: tuple
    ok: bool
    reason: str = ""
    started: float = field(default_factory=time.time)


class Workers:
    """One worker per application pool, started on demand, as WAS does."""

    def __init__(self, config: WebConfig, logs: Logs) -> None:
        self.config = config
        self.logs = logs
        self.workers: dict[str, Worker] = {}
        self.lock = threading.Lock()
        self.starting: dict[str, threading.Lock] = {}

    def _generation(self) -> int:
        """runtime.json changes on start, stop and recycle: a new worker generation."""
        try:
            return (Path(self.config.node_dir) / runtime.RUNTIME_FILE).stat().st_mtime_ns
        except OSError:
            return 0

    def ensure(self, app_pool: webconfig.Pool) -> Worker:
        secret = hashlib.sha256((app_pool.password or "").encode("utf-8")).hexdigest()
        signature = (app_pool.identity_type, app_pool.username.lower(), secret, self._generation())
        key = app_pool.name.lower()
        with self.lock:
            lock = self.starting.setdefault(key, threading.Lock())
        with lock:
            worker = self.workers.get(key)
            if worker is not None and worker.signature == signature and (
                    worker.ok or time.time() - worker.started < FAILED_LOGON_RETRY):
                return worker
            ok, reason = self._logon(app_pool)
            worker = Worker(signature, ok, reason)
            self.workers[key] = worker
            if not ok:
                self.logs.event("WAS", 5021, "Warning",
                                "The identity of application pool %s is invalid. The user name or password that is "
                                "specified for the identity may be incorrect, or the user may not have batch logon "
                                "rights. If the identity is not corrected, the application pool will be disabled when "
                                "the application pool receives its first request. [lab: %s]"
                                % (app_pool.name, reason))
            return worker

    def _logon(self, app_pool: webconfig.Pool) -> tuple[bool, str]:
        if app_pool.identity_type != "SpecificUser":
            return True, ""
        if not app_pool.is_domain_account:
            return False, "%s is not an account of the lab's domain (the lab has no local accounts)" % (
                app_pool.username or "(empty user name)")
        if app_pool.password is None:
            return False, "the stored password of %s cannot be read (not written by the lab)" % app_pool.username
        error = self._bind(app_pool)
        if error:
            return False, "logon failure for %s: %s" % (app_pool.username, error)
        return self._batch_right(app_pool)

    def _bind(self, app_pool: webconfig.Pool) -> str:
        import ldap3  # pylint: disable=import-outside-toplevel

        name = app_pool.username
        if "\\" in name:
            name = "%s\\%s" % (self.config.netbios, name.split("\\", 1)[1])
        if not app_pool.password:
            return "empty password"
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.config.ca_cert)
        server = ldap3.Server(self.config.dc_host, port=636, use_ssl=True, tls=tls, connect_timeout=10)
        connection = ldap3.Connection(server, user=name, password=app_pool.password, authentication=ldap3.SIMPLE,
                                      raise_exceptions=False, receive_timeout=10)
        try:
            if connection.bind():
                return ""
            return "unknown user name or bad password (%s)" % (connection.result.get("message") or "").strip()
        except ldap3.core.exceptions.LDAPException as exc:
            return "the domain controller could not be reached: %s" % exc
        finally:
            connection.unbind()

    def _ldb(self, base: str, expression: str, attrs: list[str], scope: str = "sub") -> list[dict[str, list[str]]]:
        proc = subprocess.run(["ldbsearch", "-H", self.config.sam_ldb, "-b", base, "-s", scope, expression, *attrs],
                              capture_output=True, text=True, timeout=60, check=False)
        records, current = [], {}
        for line in proc.stdout.splitlines() + [""]:
            if not line.strip():
                if current:
                    records.append(current)
                current = {}
                continue
            if line.startswith("#") or line.startswith("ref:"):
                continue
            name, sep, value = line.partition(": ")
            if sep:
                current.setdefault(name.lower(), []).append(value.strip())
        return records

    def _batch_right(self, app_pool: webconfig.Pool) -> tuple[bool, str]:
        found = self._ldb(self.config.domain_dn, "(sAMAccountName=%s)" % app_pool.account, ["objectSid"])
        if not found or "dn" not in found[0]:
            return False, "logon failure: no account %s in the domain" % app_pool.username
        dn = found[0]["dn"][0]
        sids = {s.upper() for s in found[0].get("objectsid", [])}
        for record in self._ldb(dn, "(objectClass=*)", ["tokenGroups"], scope="base"):
            sids |= {s.upper() for s in record.get("tokengroups", [])}
        sids |= set(_TOKEN_WELL_KNOWN)
        node = SimpleNamespace(node_dir=Path(self.config.node_dir))
        holders = scripts.run_user_rights({"rights": ["SeBatchLogonRight"]}, node, {})["rights"]["SeBatchLogonRight"]
        names = {("%s\\%s" % (self.config.netbios, app_pool.account)).lower(), app_pool.account.lower(),
                 app_pool.username.lower()}
        for holder in holders:
            if (holder.get("sid") or "").upper() in sids or (holder.get("name") or "").lower() in names:
                return True, ""
        shown = ", ".join(h.get("name") or h.get("sid") or "?" for h in holders) or "nobody"
        applied = (Path(self.config.node_dir) / scripts.APPLIED_POLICY_FILE).exists()
        return False, ("%s does not hold SeBatchLogonRight (Log on as a batch job) on %s: the right is held by %s "
                       "(%s)" % (app_pool.username, self.config.name, shown,
                                 "domain policy applied at the last gpupdate" if applied else "local policy"))
