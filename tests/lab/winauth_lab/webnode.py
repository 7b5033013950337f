# Internal to the webfarm.winauth lab.
"""A lab node's web endpoint: its configuration (``web/web.json``) and the logs it writes as IIS and HTTP.SYS do."""

from __future__ import annotations

import datetime
import json
import threading
import typing as t
from dataclasses import dataclass
from pathlib import Path

from .nodeconfig import JsonConfig

HTTP_PORT = 80
HTTPS_PORT = 443
W3C_FIELDS = ("date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username "
              "c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus sc-win32-status time-taken")


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass
class WebConfig(JsonConfig):
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
        now = utc_now()
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
        now = utc_now()
        header = ("#Software: Microsoft HTTP API 2.0 (webfarm.winauth lab node %s)\n#Version: 1.0\n#Date: %s\n"
                  "#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid "
                  "s-reason s-queuename\n" % (self.node, now.strftime("%Y-%m-%d %H:%M:%S")))
        line = " ".join([now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S"), client[0], str(client[1]), server[0],
                         str(server[1]), "HTTP/1.1", method, url.replace(" ", "+"), str(status), site_id, reason,
                         queue])
        self._append(self.dir / "httperr.log", line, header)

    def event(self, source: str, event_id: int, level: str, message: str) -> None:
        record = {"time": utc_now().isoformat(timespec="milliseconds"), "node": self.node, "source": source,
                  "id": event_id, "level": level, "message": message}
        self._append(self.dir / "events.log", json.dumps(record))

    def detail(self, record: dict[str, t.Any]) -> None:
        record = dict({"time": utc_now().isoformat(timespec="milliseconds"), "node": self.node}, **record)
        self._append(self.dir / "web.log", json.dumps(record, default=str))
