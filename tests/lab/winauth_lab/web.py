# Internal to the webfarm.winauth lab.
"""A lab node's web endpoint: the sites of its applicationHost.config over HTTP (80) and HTTPS (443).

``python -m winauth_lab.web WEB_JSON`` serves one node until SIGTERM; ``winauth_lab.webfleet``
starts it beside the node's WinRM process. For every request it does what IIS does with the
node's configuration as the twin reads it (``winauth_lab.webconfig``):

* HTTP.sys picks the site by binding (protocol, address, port, host name); no binding: 400
  "Invalid Hostname"; a stopped site: 404; a stopped application pool: 503 (HTTPERR log).
* URL Rewrite's global rules run first; a rewrite to ``http(s)://<web farm>/...`` with ARR's proxy
  enabled is proxied to a server of that farm, as ARR does it: a server per request (weighted
  round robin, or the server named by the farm's affinity cookie when client affinity is on, the
  cookie set on the response), backend connections from a pool per server (reused in turn, closed
  after each response when the farm's keepAlive is off; no tie between a client's connection and
  a backend connection), headers and the ``Authorization``/``WWW-Authenticate`` exchange passed
  through untouched, Host preserved or not per the farm's ``preserveHostHeader``.
* The worker process of the request's pool must start: a domain identity needs its password (an
  LDAP bind against the lab DC) and the batch-logon right as the node holds it after its last
  gpupdate (the twin's ``user_rights``: the applied domain policy over local policy), held by the
  account or a domain group it is in (built-in identities start without it). Otherwise 503, and WAS event 5021 in the node's events.log. A started
  worker keeps its logon until the pool is recycled or its identity changes, as on Windows.
* Authentication at the request's location path: anonymous if enabled; else Windows
  authentication with the providers in order (``Negotiate`` offers Kerberos and falls back to
  NTLM; ``Negotiate:Kerberos`` refuses NTLM; ``NTLM`` is offered as such). A Kerberos ticket is
  decrypted with the keys of the computer account (kernel mode without useAppPoolCredentials) or
  of the pool identity (keytabs exported from the lab AD); a ticket it cannot decrypt gets a 401
  carrying the KRB-ERROR, as Windows sends it.
* A W3C log (``u_ex.log``) with sub-status and Win32 status codes as IIS writes them (401 2 5 for
  the challenge, 401 1 2148074254 for NTLM's challenge leg, 401 1 2148074252 for a logon that
  failed, 200 0 0), an HTTPERR log for what HTTP.sys answers itself, and ``web.log``: one JSON line
  per request with what IIS does not log (the mechanism, whose keys, why it failed).

Every response IIS produces carries ``X-Served-By: <NODE>``: the lab's stand-in for the
customHeaders entry administrators add on each node of a farm, so a client can tell which
backend answered. HTTP.sys's own answers (400, 404, 503) do not carry it.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import http.client
import itertools
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import typing as t
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

from . import webconfig
from .iis import runtime, scripts
from .iis.config import ConfigEngine

HTTP_PORT = 80
HTTPS_PORT = 443
FAILED_LOGON_RETRY = 2.0       # seconds before a failed worker start is tried again
KEYTAB_TTL = 30.0               # seconds an exported pool-identity keytab is trusted before re-export
IDLE_TIMEOUT = 120.0
MAX_BODY = 4 * 1024 * 1024
SEC_E_NO_CREDENTIALS = 2148074254     # logged on NTLM's challenge leg (401.1)
SEC_E_LOGON_DENIED = 2148074252       # a logon (ticket or NTLM response) the server refused (401.1)
ERROR_ACCESS_DENIED = 5               # the anonymous first request when anonymous is off (401.2)
ERROR_INTERNET_CANNOT_CONNECT = 12029  # ARR could not reach a farm server (502.3)
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade", "content-length"}
_QUIET = (ssl.SSLError, ConnectionError, TimeoutError, socket.timeout, EOFError)
# Well-known SIDs in the token of a domain account's batch logon. Not IIS_IUSRS: IIS adds the virtual
# ApplicationPoolIdentity accounts to it at run time, but a domain account logs on (LogonUser, batch) before
# any such membership, so it needs the right itself or through a group it really belongs to.
_TOKEN_WELL_KNOWN = ("S-1-1-0", "S-1-5-11", "S-1-5-3", "S-1-5-32-545")
_KRB5_OID = bytes.fromhex("2a864886f712010202")         # 1.2.840.113554.1.2.2
_MS_KRB5_OID = bytes.fromhex("2a864882f712010202")      # 1.2.840.48018.1.2.2
W3C_FIELDS = ("date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username "
              "c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus sc-win32-status time-taken")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass
class WebConfig:
    """What one web endpoint process needs; stored as web/web.json in the node's directory."""

    name: str
    address: str
    fqdn: str
    node_dir: str
    cert: str
    key: str
    ca_cert: str
    realm: str
    netbios: str
    dc_host: str
    smb_conf: str
    sam_ldb: str
    domain_dn: str
    computer_keytab: str
    http_port: int = HTTP_PORT
    https_port: int = HTTPS_PORT

    @classmethod
    def load(cls, path: Path) -> "WebConfig":
        return cls(**json.loads(path.read_text()))

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @property
    def web_dir(self) -> Path:
        return Path(self.node_dir) / "web"


# --- logs ------------------------------------------------------------------------------------------

class Logs:
    """The node's W3C log, HTTPERR log, event log and the lab's per-request JSON log."""

    def __init__(self, web_dir: Path, node: str) -> None:
        self.dir = web_dir
        self.node = node
        self.lock = threading.Lock()

    @property
    def w3c(self) -> Path:
        return self.dir / "u_ex.log"

    def _append(self, path: Path, line: str, header: str = "") -> None:
        with self.lock:
            new = not path.exists() or path.stat().st_size == 0
            with open(path, "a", encoding="utf-8") as handle:
                if new and header:
                    handle.write(header)
                handle.write(line + "\n")

    def request(self, fields: dict[str, t.Any]) -> None:
        now = _now()
        header = ("#Software: Microsoft Internet Information Services 10.0 (webfarm.winauth lab node %s)\n"
                  "#Version: 1.0\n#Date: %s\n#Fields: %s\n" % (self.node, now.strftime("%Y-%m-%d %H:%M:%S"), W3C_FIELDS))

        def w(value: t.Any) -> str:
            text = str(value) if value not in (None, "") else "-"
            return text.replace(" ", "+")
        line = " ".join([now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S")] + [w(fields.get(k)) for k in (
            "site", "computer", "s_ip", "method", "uri_stem", "uri_query", "s_port", "username", "c_ip", "user_agent",
            "referer", "host", "status", "substatus", "win32", "time_taken")])
        self._append(self.w3c, line, header)

    def httperr(self, client: tuple[str, int], server: tuple[str, int], method: str, url: str, status: int,
                site_id: str, reason: str, queue: str = "-") -> None:
        now = _now()
        header = ("#Software: Microsoft HTTP API 2.0 (webfarm.winauth lab node %s)\n#Version: 1.0\n#Date: %s\n"
                  "#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid "
                  "s-reason s-queuename\n" % (self.node, now.strftime("%Y-%m-%d %H:%M:%S")))
        line = " ".join([now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S"), client[0], str(client[1]), server[0],
                         str(server[1]), "HTTP/1.1", method, url.replace(" ", "+"), str(status), site_id, reason,
                         queue])
        self._append(self.dir / "httperr.log", line, header)

    def event(self, source: str, event_id: int, level: str, message: str) -> None:
        record = {"time": _now().isoformat(timespec="milliseconds"), "node": self.node, "source": source,
                  "id": event_id, "level": level, "message": message}
        self._append(self.dir / "events.log", json.dumps(record))

    def detail(self, record: dict[str, t.Any]) -> None:
        record = dict({"time": _now().isoformat(timespec="milliseconds"), "node": self.node}, **record)
        self._append(self.dir / "web.log", json.dumps(record, default=str))


# --- keys ------------------------------------------------------------------------------------------

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


# --- authentication ----------------------------------------------------------------------------------

@dataclass
class ConnState:
    """Per TCP connection, as HTTP.sys and IIS keep it."""

    id: int
    identity: str | None = None
    mechanism: str = ""
    worker: tuple = ()               # the worker (pool, start time) that authenticated the connection
    pending: t.Any = None
    pending_kind: str = ""


@dataclass
class AuthOutcome:
    ok: bool
    status: int = 200
    substatus: int = 0
    win32: int = 0
    headers: list[str] = field(default_factory=list)
    user: str = ""
    mechanism: str = ""
    detail: dict[str, t.Any] = field(default_factory=dict)


def _spnego_kind(token: bytes) -> tuple[str, bytes]:
    """ntlm | kerberos | spnego-kerberos | spnego-ntlm | spnego-continue | unknown, and the inner mech token."""
    from spnego._asn1 import unpack_asn1  # pylint: disable=import-outside-toplevel
    from spnego._spnego import NegTokenInit, unpack_token  # pylint: disable=import-outside-toplevel

    if token.startswith(b"NTLMSSP\0"):
        return "ntlm", token
    if token[:1] == b"\xa1":
        return "spnego-continue", b""
    if token[:1] != b"\x60":
        return "unknown", b""
    try:
        body = unpack_asn1(token)[0].b_data
        oid = body[2:2 + body[1]] if body[:1] == b"\x06" else b""
        if oid in (_KRB5_OID, _MS_KRB5_OID):
            return "kerberos", token
        parsed = unpack_token(token)
    except Exception:  # pylint: disable=broad-except
        return "unknown", b""
    if isinstance(parsed, NegTokenInit):
        mech_token = parsed.mech_token or b""
        if mech_token.startswith(b"NTLMSSP\0"):
            return "spnego-ntlm", mech_token
        first = (parsed.mech_types or [""])[0]
        if mech_token[:1] == b"\x60" or first in ("1.2.840.113554.1.2.2", "1.2.840.48018.1.2.2"):
            return "spnego-kerberos", mech_token
        if first == "1.3.6.1.4.1.311.2.2.10":
            return "spnego-ntlm", mech_token
    return "unknown", b""


def _ticket_spn(mech_token: bytes) -> str:
    """The SPN a Kerberos AP-REQ's ticket was issued for (read from the token, for the lab's log)."""
    from spnego._asn1 import unpack_asn1  # pylint: disable=import-outside-toplevel
    from spnego._context import GSSMech  # pylint: disable=import-outside-toplevel
    from spnego._spnego import unpack_token  # pylint: disable=import-outside-toplevel

    try:
        body = unpack_asn1(mech_token)[0].b_data            # [APPLICATION 0]: the mech OID, then the inner token
        message = unpack_token(body[2 + body[1]:], mech=GSSMech.kerberos, unwrap=True)
        ticket = message.ticket
        return "%s@%s" % ("/".join(_text(p) for p in ticket.sname.value), _text(ticket.realm))
    except Exception:  # pylint: disable=broad-except
        return ""


def _text(value: t.Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class Authenticator:
    """IIS's Windows authentication for one node: providers, Kerberos keys per location, NTLM."""

    def __init__(self, config: WebConfig, keys: Keys) -> None:
        self.config = config
        self.keys = keys

    def windows_name(self, principal: str) -> str:
        user, _at, realm = principal.partition("@")
        if "\\" in user:
            domain, name = user.split("\\", 1)
            if domain.upper() in (self.config.netbios.upper(), self.config.realm.upper()):
                return "%s\\%s" % (self.config.netbios, name)
            return user
        if not realm or realm.upper() == self.config.realm.upper():
            return "%s\\%s" % (self.config.netbios, user)
        return principal

    def authenticate(self, header: str | None, conn: ConnState, settings: webconfig.AuthSettings,
                     keys: webconfig.KeySource, worker: tuple = ()) -> AuthOutcome:
        """IIS's decision for one request. A connection stays authenticated (requests without a header are
        served as its user) while the worker that authenticated it runs and the location's settings allow it:
        NTLM unless authPersistSingleRequest, Kerberos only with authPersistNonNTLM."""
        outcome = self._authenticate(header, conn, settings, keys)
        if outcome.ok and outcome.mechanism in ("ntlm", "kerberos") and header:
            conn.worker = worker
        return outcome

    def _persisted(self, conn: ConnState, settings: webconfig.AuthSettings) -> bool:
        if not conn.identity or conn.pending is not None or settings.auth_persist_single_request:
            return False
        return conn.mechanism == "ntlm" or settings.auth_persist_non_ntlm

    def _authenticate(self, header: str | None, conn: ConnState, settings: webconfig.AuthSettings,
                      keys: webconfig.KeySource) -> AuthOutcome:
        if settings.anonymous:
            return AuthOutcome(True, mechanism="anonymous")
        if not settings.windows:
            return AuthOutcome(False, 401, 2, ERROR_ACCESS_DENIED, detail={"why": "neither anonymous nor Windows "
                                                                                  "authentication is enabled here"})
        challenge = settings.challenges()
        if not header:
            if self._persisted(conn, settings):
                return AuthOutcome(True, user=conn.identity or "", mechanism=conn.mechanism,
                                   detail={"persisted": "the connection was authenticated earlier (%s)"
                                                        % conn.mechanism})
            return AuthOutcome(False, 401, 2, ERROR_ACCESS_DENIED, challenge)
        parts = header.strip().split(None, 1)
        scheme = parts[0].lower()
        try:
            token = base64.b64decode(parts[1].strip() if len(parts) > 1 else "", validate=True)
        except (binascii.Error, ValueError):
            token = b""
        offered = {c.lower() for c in challenge}
        if scheme not in offered or not token:
            conn.pending = None
            return AuthOutcome(False, 401, 2, ERROR_ACCESS_DENIED, challenge,
                               detail={"why": "the client used %s, which this location does not offer (providers: "
                                              "%s)" % (parts[0], ", ".join(settings.providers) or "none")})
        kind, mech_token = _spnego_kind(token)
        if kind == "spnego-continue" and conn.pending is not None:
            kind = conn.pending_kind
        if kind in ("ntlm", "spnego-ntlm"):
            if scheme == "negotiate" and not settings.negotiate_allows_ntlm and not (
                    kind == "ntlm" and settings.offers_ntlm):
                conn.pending = None
                return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge,
                                   detail={"mechanism": "ntlm", "why": "the provider is Negotiate:Kerberos, which "
                                                                       "refuses NTLM"})
            return self._ntlm(scheme, kind, token, conn, settings, challenge)
        if kind in ("kerberos", "spnego-kerberos"):
            return self._kerberos(scheme, kind, token, mech_token, conn, settings, keys, challenge)
        conn.pending = None
        return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge, detail={"why": "unrecognised token"})

    def _ntlm(self, scheme: str, kind: str, token: bytes, conn: ConnState, settings: webconfig.AuthSettings,
              challenge: list[str]) -> AuthOutcome:
        import spnego  # pylint: disable=import-outside-toplevel
        from spnego.exceptions import SpnegoError  # pylint: disable=import-outside-toplevel

        first = token.startswith(b"NTLMSSP\0") and int.from_bytes(token[8:12], "little") == 1 or \
            kind == "spnego-ntlm" and token[:1] == b"\x60"
        context = None if first else conn.pending
        try:
            if context is None:
                context = spnego.server(protocol="ntlm" if kind == "ntlm" else "negotiate")
            out = context.step(token)
            complete = context.complete
        except (SpnegoError, Exception) as exc:  # pylint: disable=broad-except
            conn.pending = None
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge,
                               detail={"mechanism": "ntlm", "why": "NTLM logon failed: %s" % exc})
        reply = ["%s %s" % ("Negotiate" if scheme == "negotiate" else "NTLM",
                            base64.b64encode(out).decode("ascii"))] if out else []
        if not complete:
            conn.pending, conn.pending_kind = context, kind
            return AuthOutcome(False, 401, 1, SEC_E_NO_CREDENTIALS, reply or challenge,
                               detail={"mechanism": "ntlm", "why": "NTLM challenge"})
        conn.pending = None
        user = self.windows_name(str(context.client_principal or "?"))
        conn.identity, conn.mechanism = user, "ntlm"
        return AuthOutcome(True, headers=reply, user=user, mechanism="ntlm")

    def _kerberos(self, scheme: str, kind: str, token: bytes, mech_token: bytes, conn: ConnState,
                  settings: webconfig.AuthSettings, keys: webconfig.KeySource, challenge: list[str]) -> AuthOutcome:
        import gssapi  # pylint: disable=import-outside-toplevel

        del scheme
        spn = _ticket_spn(mech_token if kind == "spnego-kerberos" else token)
        detail: dict[str, t.Any] = {"mechanism": "kerberos", "ticket_spn": spn, "key_account": keys.account,
                                    "key_reason": keys.reason}
        conn.pending = None
        if not keys.account:
            detail["why"] = "no account's keys are available here: %s" % keys.reason
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge, detail=detail)
        try:
            keytab = self.keys.keytab(keys.account)
        except KeyError as exc:
            detail["why"] = str(exc)
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge, detail=detail)
        try:
            creds = gssapi.Credentials(usage="accept", store={"keytab": "FILE:%s" % keytab})
            context = gssapi.SecurityContext(creds=creds, usage="accept")
            out = context.step(token)
            complete = context.complete
        except gssapi.exceptions.GSSError as exc:
            error_token = getattr(exc, "token", None)
            detail["why"] = "the ticket for %s could not be decrypted with the keys of %s: %s" % (
                spn or "the service", keys.account, " ".join(str(exc).split()))
            headers = ["Negotiate %s" % base64.b64encode(error_token).decode("ascii")] if error_token else challenge
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, headers, detail=detail)
        if not complete:
            detail["why"] = "the Kerberos exchange needs another leg, which the lab does not model"
            return AuthOutcome(False, 401, 1, SEC_E_LOGON_DENIED, challenge, detail=detail)
        user = self.windows_name(str(context.initiator_name))
        conn.identity, conn.mechanism = user, "kerberos"
        headers = ["Negotiate %s" % base64.b64encode(out).decode("ascii")] if out else []
        return AuthOutcome(True, headers=headers, user=user, mechanism="kerberos", detail=detail)


# --- the server ----------------------------------------------------------------------------------

class NodeWeb:
    """State shared by the node's listeners."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        config.web_dir.mkdir(parents=True, exist_ok=True)
        self.logs = Logs(config.web_dir, config.name)
        self.keys = Keys(config)
        self.workers = Workers(config, self.logs)
        self.auth = Authenticator(config, self.keys)
        self.connections = itertools.count(1)
        self._engine: tuple[tuple, ConfigEngine] | None = None
        self._engine_lock = threading.Lock()
        self._rr: dict[str, list[int]] = {}
        self._rr_lock = threading.Lock()
        self._pool: dict[str, list[http.client.HTTPConnection]] = {}
        self._pool_lock = threading.Lock()

    def backend_connection(self, scheme: str, address: str, port: int) -> tuple[str, http.client.HTTPConnection]:
        """An idle pooled connection to a farm server, or a new one (ARR's connection pool)."""
        key = "%s://%s:%d" % (scheme, address.lower(), port)
        with self._pool_lock:
            idle = self._pool.get(key) or []
            if idle:
                return key, idle.pop()
        if scheme == "https":
            context = ssl.create_default_context(cafile=self.config.ca_cert)
            return key, http.client.HTTPSConnection(address, port, timeout=30, context=context)
        return key, http.client.HTTPConnection(address, port, timeout=30)

    def release(self, key: str, connection: http.client.HTTPConnection, keep: bool) -> None:
        if not keep:
            connection.close()
            return
        with self._pool_lock:
            self._pool.setdefault(key, []).append(connection)

    @property
    def config_path(self) -> Path:
        return Path(self.config.node_dir) / "applicationHost.config"

    def engine(self) -> ConfigEngine:
        stat = self.config_path.stat()
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._engine_lock:
            if self._engine is None or self._engine[0] != key:
                self._engine = (key, ConfigEngine(self.config_path.read_bytes()))
            return self._engine[1]

    def pick(self, farm: webconfig.Farm) -> webconfig.FarmServer | None:
        """Weighted round robin (smooth), as ARR's WeightedRoundRobin with equal weights is plain round robin."""
        servers = [s for s in farm.servers if s.enabled]
        if not servers:
            return None
        with self._rr_lock:
            state = self._rr.setdefault(farm.name.lower(), [0] * len(servers))
            if len(state) != len(servers):
                state[:] = [0] * len(servers)
            total = sum(s.weight for s in servers)
            for index, server in enumerate(servers):
                state[index] += server.weight
            best = max(range(len(servers)), key=lambda i: state[i])
            state[best] -= total
            return servers[best]


class WebServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, node: NodeWeb, port: int, tls: ssl.SSLContext | None) -> None:
        self.node = node
        self.tls = tls
        self.scheme = "https" if tls else "http"
        super().__init__((node.config.address, port), WebHandler)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], _QUIET):
            return
        print("%s %s connection from %s failed:" % (_now().isoformat(), self.scheme, client_address[0]),
              file=sys.stderr)
        traceback.print_exc()


class WebHandler(BaseHTTPRequestHandler):
    server: WebServer
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        if self.server.tls is not None:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        self.conn = ConnState(next(self.server.node.connections))
        super().setup()

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        """Requests go to the node's W3C log."""

    # -- plumbing -------------------------------------------------------------------------------------
    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]], server_header: str | None = None,
              reason: str | None = None) -> None:
        self.send_response_only(status, reason)
        self.send_header("Server", server_header or self.server_version)
        self.send_header("Date", self.date_time_string())
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _httpsys(self, status: int, reason: str, text: str, site_id: str, log_reason: str, queue: str = "-") -> None:
        """What HTTP.sys answers itself: no IIS headers, logged to HTTPERR only."""
        body = ("<HTML><BODY><h2>%s</h2><hr><p>HTTP Error %d. %s</p></BODY></HTML>" % (reason, status, text)).encode()
        self._send(status, body, [("Content-Type", "text/html; charset=us-ascii"), ("Connection", "close")],
                   server_header="Microsoft-HTTPAPI/2.0", reason=reason)
        self.close_connection = True
        local = self.connection.getsockname()
        self.server.node.logs.httperr(self.client_address, local, self.command, self.path, status, site_id,
                                      log_reason, queue)

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        started = time.monotonic()
        body = self._body()
        try:
            self._handle(body, started)
        except _QUIET:
            raise
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc()
            self._send(500, b"lab web endpoint internal error; see its process.log", [("Connection", "close")])
            self.close_connection = True

    do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_GET

    # -- the request ------------------------------------------------------------------------------------
    def _handle(self, body: bytes, started: float) -> None:
        node = self.server.node
        config = node.config
        local_ip, local_port = self.connection.getsockname()[:2]
        host = self.headers.get("Host") or local_ip
        path, _sep, query = self.path.partition("?")
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        engine = node.engine()
        site = webconfig.match_site(engine, self.server.scheme, local_ip, local_port, host)
        if site is None:
            self._httpsys(400, "Bad Request - Invalid Hostname", "The request hostname is invalid.", "-", "Hostname")
            return
        store = runtime.load(Path(config.node_dir))
        site_kind = ("sites", "serverAutoStart", "site")
        if runtime.state_of(engine, store, site_kind, site.name) == "Stopped":
            self._httpsys(404, "Not Found", "The requested resource is not found.", str(site.id), "NotFound")
            return
        record: dict[str, t.Any] = {"connection": self.conn.id, "site": site.name, "method": self.command,
                                    "url": self.path, "host": host, "scheme": self.server.scheme}
        rewrite = webconfig.rewrite(engine, path, query, self._variables(host, query, local_port))
        if rewrite is not None:
            record["rewrite"] = {"rule": rewrite.rule, "action": rewrite.action, "url": rewrite.url}
            if rewrite.action == "Rewrite" and not rewrite.url.startswith("/"):
                pass      # proxied below, after the front end's own pool and authentication
            elif rewrite.action == "Rewrite":
                path = rewrite.url
                rewrite = None
            else:
                self._rewrite_answer(rewrite, site, host, query, started, record)
                return
        location = webconfig.location_of(site.name, path)
        app_path, pool_name = webconfig.application_for(site, path)
        app_pool = webconfig.pool(engine, pool_name) if pool_name else None
        record.update(location=location, application=app_path, pool=pool_name)
        pool_kind = ("applicationPools", "autoStart", "application pool")
        if app_pool is None or runtime.state_of(engine, store, pool_kind, app_pool.name) != "Started":
            record["why"] = "application pool %s is %s" % (pool_name or "(none)", "missing" if app_pool is None
                                                           else "stopped")
            node.logs.detail(dict(record, status=503))
            self._httpsys(503, "Service Unavailable", "The service is unavailable.", str(site.id), "AppOffline",
                          pool_name or "-")
            return
        worker = node.workers.ensure(app_pool)
        if not worker.ok:
            record["why"] = worker.reason
            node.logs.detail(dict(record, status=503))
            self._httpsys(503, "Service Unavailable", "The service is unavailable.", str(site.id), "AppOffline",
                          app_pool.name)
            return
        settings = webconfig.auth_settings(engine, location)
        key_source = webconfig.acceptor_account(settings, app_pool, config.name)
        worker_key = (app_pool.name.lower(), worker.started)
        if self.conn.worker and self.conn.worker != worker_key:
            self.conn.identity = None        # the worker that authenticated this connection is gone
        outcome = node.auth.authenticate(self.headers.get("Authorization"), self.conn, settings, key_source,
                                         worker_key)
        record.update(outcome.detail)
        record.update(providers=settings.providers, anonymous=settings.anonymous, windows=settings.windows,
                      identity=app_pool.display())
        if not outcome.ok:
            self._iis_response(outcome.status, outcome.substatus, outcome.win32, "", outcome.headers, site,
                               host, query, started, record, _unauthorized(outcome.substatus))
            return
        if rewrite is not None:
            self._proxy(rewrite, body, outcome, site, host, query, started, record)
            return
        user = outcome.user or ""
        page = ("webfarm.winauth lab node %s\nsite: %s\npath: %s\napplication: %s (pool %s, identity %s)\n"
                "user: %s\nauthentication: %s\n" % (
                    config.name, site.name, path, app_path, app_pool.name, app_pool.display(),
                    user or "(anonymous)", outcome.mechanism))
        self._iis_response(200, 0, 0, user, outcome.headers, site, host, query, started,
                           dict(record, user=user, mechanism=outcome.mechanism), page.encode("utf-8"),
                           content_type="text/plain; charset=utf-8")

    def _variables(self, host: str, query: str, port: int) -> t.Callable[[str], str]:
        secure = self.server.scheme == "https"

        def lookup(name: str) -> str:
            upper = name.upper()
            fixed = {"HTTP_HOST": host, "HTTPS": "on" if secure else "off", "SERVER_PORT": str(port),
                     "SERVER_PORT_SECURE": "1" if secure else "0", "QUERY_STRING": query,
                     "REQUEST_URI": self.path, "URL": self.path.split("?", 1)[0], "REQUEST_METHOD": self.command,
                     "REMOTE_ADDR": self.client_address[0], "CACHE_URL": "%s://%s%s" % (
                         self.server.scheme, host, self.path)}
            if upper in fixed:
                return fixed[upper]
            if upper.startswith("HTTP_"):
                return self.headers.get(upper[5:].replace("_", "-")) or ""
            return ""
        return lookup

    def _iis_response(self, status: int, substatus: int, win32: int, user: str, auth_headers: list[str],
                      site: webconfig.Site, host: str, query: str, started: float, record: dict[str, t.Any],
                      body: bytes, content_type: str = "text/html", extra: list[tuple[str, str]] | None = None,
                      reason: str | None = None) -> None:
        node = self.server.node
        headers = [("Content-Type", content_type)]
        headers += [("WWW-Authenticate", value) for value in auth_headers]
        headers += extra or []
        headers += [("X-Powered-By", "ASP.NET"), ("X-Served-By", node.config.name)]
        self._send(status, body, headers, reason=reason)
        self._log(site, host, query, status, substatus, win32, user, started)
        node.logs.detail(dict(record, status=status, substatus=substatus, win32=win32))

    def _log(self, site: webconfig.Site, host: str, query: str, status: int, substatus: int, win32: int, user: str,
             started: float) -> None:
        node = self.server.node
        local_ip, local_port = self.connection.getsockname()[:2]
        node.logs.request({
            "site": site.name, "computer": node.config.name, "s_ip": local_ip, "method": self.command,
            "uri_stem": self.path.split("?", 1)[0], "uri_query": query, "s_port": local_port, "username": user,
            "c_ip": self.client_address[0], "user_agent": self.headers.get("User-Agent"),
            "referer": self.headers.get("Referer"), "host": host, "status": status, "substatus": substatus,
            "win32": win32, "time_taken": int((time.monotonic() - started) * 1000)})

    def _rewrite_answer(self, rewrite: webconfig.RewriteResult, site: webconfig.Site, host: str, query: str,
                        started: float, record: dict[str, t.Any]) -> None:
        if rewrite.action == "AbortRequest":
            self.close_connection = True
            self.server.node.logs.detail(dict(record, status=0, why="aborted by rule %s" % rewrite.rule))
            return
        if rewrite.action == "Redirect":
            self._iis_response(rewrite.status, 0, 0, "", [], site, host, query, started, record, b"",
                               extra=[("Location", rewrite.url)])
            return
        self._iis_response(rewrite.status or 200, rewrite.substatus, 0, "", [], site, host, query, started, record,
                           rewrite.reason.encode("utf-8"), reason=rewrite.reason or None)

    # -- ARR ----------------------------------------------------------------------------------------------
    def _proxy(self, rewrite: webconfig.RewriteResult, body: bytes, outcome: AuthOutcome, site: webconfig.Site,
               host: str, query: str, started: float, record: dict[str, t.Any]) -> None:
        node = self.server.node
        engine = node.engine()
        target = urlsplit(rewrite.url)
        if not webconfig.proxy_enabled(engine):
            record["why"] = "URL Rewrite rewrote to %s but ARR's proxy (system.webServer/proxy) is off" % rewrite.url
            self._iis_response(404, 4, 2, outcome.user, [], site, host, query, started, record, b"Not Found")
            return
        farm = webconfig.farm(engine, target.hostname or "")
        scheme = target.scheme.lower()
        cookie = ""
        if farm is not None:
            server = self._affinity(farm) or node.pick(farm)
            if server is None or not farm.enabled:
                record["why"] = "web farm %s has no enabled server" % farm.name
                self._iis_response(503, 0, 0, outcome.user, [], site, host, query, started, record, b"")
                return
            address, port = server.address, server.https_port if scheme == "https" else server.http_port
            preserve, xff, arr_header, keep = (farm.preserve_host_header, farm.x_forwarded_for,
                                               farm.arr_response_header, farm.keep_alive)
            if farm.use_cookie and self._cookie(farm.cookie_name) != _affinity_value(server.address):
                cookie = "%s=%s;Path=/;Domain=%s" % (farm.cookie_name, _affinity_value(server.address),
                                                     host.split(":")[0])
        else:
            address = target.hostname or ""
            port = target.port or (443 if scheme == "https" else 80)
            preserve, xff, arr_header, keep = False, "X-Forwarded-For", True, True
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != "host"]
        headers.append(("Host", host if preserve else (address if port in (80, 443) else "%s:%d" % (address, port))))
        headers.append((xff, "%s:%d" % self.client_address[:2]))
        headers.append(("X-Original-URL", self.path))
        headers.append(("X-ARR-LOG-ID", "lab-%d" % self.conn.id))
        record["backend"] = "%s://%s:%d" % (scheme, address, port)
        try:
            response, payload = self._forward(scheme, address, port, path, headers, body, keep)
        except (OSError, http.client.HTTPException) as exc:
            record["why"] = "ARR could not reach %s:%d: %s" % (address, port, exc)
            self._iis_response(502, 3, ERROR_INTERNET_CANNOT_CONNECT, outcome.user, [], site, host, query, started,
                               record, b"502.3 Bad Gateway")
            return
        relayed = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP
                   and k.lower() not in ("server", "date")]
        if cookie:
            relayed.append(("Set-Cookie", cookie))
        if arr_header:
            relayed.append(("X-Powered-By", "ARR/3.0"))
        self._send(response.status, payload, relayed, reason=response.reason)
        self._log(site, host, query, response.status, 0, 0, outcome.user, started)
        node.logs.detail(dict(record, status=response.status, served_by=response.getheader("X-Served-By")))

    def _cookie(self, name: str) -> str:
        for header in self.headers.get_all("Cookie") or []:
            for part in header.split(";"):
                key, _sep, value = part.strip().partition("=")
                if key == name:
                    return value
        return ""

    def _affinity(self, farm: webconfig.Farm) -> webconfig.FarmServer | None:
        """The server the client's affinity cookie names, when the farm uses client affinity."""
        if not farm.use_cookie:
            return None
        wanted = self._cookie(farm.cookie_name)
        for server in farm.servers:
            if server.enabled and wanted and _affinity_value(server.address) == wanted:
                return server
        return None

    def _forward(self, scheme: str, address: str, port: int, path: str, headers: list[tuple[str, str]],
                 body: bytes, keep: bool) -> tuple[http.client.HTTPResponse, bytes]:
        node = self.server.node
        for attempt in (1, 2):
            key, connection = node.backend_connection(scheme, address, port)
            try:
                connection.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.putheader("Content-Length", str(len(body)))
                if not keep:
                    connection.putheader("Connection", "close")
                connection.endheaders(body)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()      # a pooled connection the server had closed: try a fresh one
                if attempt == 2:
                    raise
                continue
            except BaseException:
                connection.close()
                raise
            node.release(key, connection, keep and not response.will_close)
            return response, payload
        raise OSError("unreachable")


def _affinity_value(address: str) -> str:
    """ARR's affinity cookie value names the server by a hash."""
    return hashlib.sha256(address.lower().encode("utf-8")).hexdigest()


def _unauthorized(substatus: int) -> bytes:
    text = {1: "401.1 - Logon failed.", 2: "401.2 - Logon failed due to server configuration."}.get(
        substatus, "401 - Unauthorized")
    return ("<html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></head>"
            "<body><h1>Server Error</h1><h2>%s</h2></body></html>" % text).encode("utf-8")


def serve(config_path: Path) -> int:
    config = WebConfig.load(config_path)
    node = NodeWeb(config)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(config.cert, config.key)
    try:
        servers = [WebServer(node, config.http_port, None), WebServer(node, config.https_port, tls)]
    except OSError as exc:
        print("lab web %s: cannot listen on %s: %s" % (config.name, config.address, exc), file=sys.stderr)
        return 2
    (config.web_dir / "web.pid").write_text("%d\n" % os.getpid())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for s in servers]
    stopping = threading.Event()

    def stop(_signum, _frame) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for thread in threads:
        thread.start()
    print("%s lab web %s listening on http://%s:%d and https://%s:%d" % (
        _now().isoformat(), config.name, config.address, config.http_port, config.address, config.https_port),
        flush=True)
    stopping.wait()
    for server in servers:
        server.shutdown()
        server.server_close()
    try:
        if (config.web_dir / "web.pid").read_text().strip() == str(os.getpid()):
            (config.web_dir / "web.pid").unlink()
    except OSError:
        pass
    print("%s lab web %s stopped" % (_now().isoformat(), config.name), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m winauth_lab.web WEB_JSON", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(Path(sys.argv[1])))
