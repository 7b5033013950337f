# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of webfarm.winauth.negotiate_probe (documentation: plugins/modules/negotiate_probe.py).

It runs on the controller whatever host the task targets: the client is the controller, as a
domain member's browser would be. Nothing is sent to the managed host.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from ansible_collections.webfarm.winauth.plugins.plugin_utils._action import WinauthAction
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify import http_client as client
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.negotiate import probe_report

ARGUMENT_SPEC: dict[str, t.Any] = {
    "url": {"type": "str", "required": True},
    "connect_to": {"type": "str"},
    "method": {"type": "str", "choices": ["GET", "HEAD"], "default": "GET"},
    "count": {"type": "int", "default": 1},
    "expect": {"type": "str", "choices": ["kerberos", "ntlm", "anonymous", "any"], "default": "any"},
    "expect_status": {"type": "int", "default": 200},
    "require_aes": {"type": "bool", "default": False},
    "expect_backends": {"type": "list", "elements": "str", "default": []},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "principal": {"type": "str"},
    "keytab": {"type": "path"},
    "ccache": {"type": "str"},
    "mechanisms": {"type": "list", "elements": "str", "choices": ["kerberos", "ntlm"]},
    "service": {"type": "str", "default": "HTTP"},
    "spn": {"type": "str"},
    "include_port": {"type": "bool", "default": False},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "channel_binding": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 10},
    "backend_header": {"type": "str", "default": "X-Served-By"},
    "fail_on_mismatch": {"type": "bool", "default": True},
}
VALIDATION: dict[str, t.Any] = {
    "mutually_exclusive": [["password", "keytab"], ["password", "ccache"], ["keytab", "ccache"]],
    "required_together": [["username", "password"]],
    "required_by": {"keytab": "principal"},
}


# Over http:// the NTLM exchange crosses the network unprotected: its NTLMv2 response can be cracked offline or
# relayed. The probe sends it there only when the task lists ntlm in mechanisms itself.
_NTLM_OVER_HTTP = ("NTLM was not tried: over http:// the NTLM exchange crosses the network unprotected (its response "
                   "can be cracked offline or relayed). Probe the https:// URL, or list ntlm in mechanisms to test "
                   "NTLM over http anyway")


def mechanisms_for(scheme: str, mechanisms: list[str] | None, expect: str) -> tuple[list[str], bool]:
    """The mechanisms the client may use, and whether NTLM was left out because the URL is http://."""
    if mechanisms is not None:
        if not mechanisms:
            raise InvalidInput("mechanisms: [] leaves the client no mechanism; give [kerberos], [ntlm] or both, or "
                               "leave mechanisms out")
        return list(dict.fromkeys(mechanisms)), False
    if scheme == "https":
        return ["kerberos", "ntlm"], False
    if expect == "ntlm":
        raise InvalidInput("expect: ntlm with an http:// url sends the NTLM exchange unprotected, which the probe "
                           "does only when asked: set mechanisms: [ntlm] (or [kerberos, ntlm]) to test NTLM over "
                           "http, or probe the https:// URL")
    return ["kerberos"], True


def _target(url: str, connect_to: str | None) -> client.Target:
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        # A space, CR or LF would end the request line and start a header of the caller's choosing.
        raise InvalidInput("url: %r holds whitespace or control characters, which would break the HTTP request "
                           "line. Fix: percent-encode them (%%20 for a space) or remove them" % url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput("url: %r is not a URL (%s)" % (url, exc)) from None
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url: %r must be an http:// or https:// URL with a host name. Fix: give one such as "
                           "https://sso.example.com/" % url)
    port = port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    connect_host, connect_port = parts.hostname, port
    if connect_to:
        host, sep, rest = connect_to.rpartition(":") if connect_to.count(":") == 1 else (connect_to, "", "")
        if sep and not rest.isdigit():
            raise InvalidInput("connect_to: %r must be host or host:port" % connect_to)
        connect_host, connect_port = host or connect_to, int(rest) if sep else port
    return client.Target(url, scheme, parts.hostname, port, path, connect_host, connect_port)


class ActionModule(WinauthAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    VALIDATION = VALIDATION

    def act(self, args: dict[str, t.Any], task_vars: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        if not 1 <= args["count"] <= 100:
            raise InvalidInput("count: %d is out of range; give 1 to 100 attempts" % args["count"])
        if not 1 <= args["timeout"] <= 600:
            raise InvalidInput("timeout: %d is out of range; give 1 to 600 seconds" % args["timeout"])
        if args["require_aes"] and args["expect"] != "kerberos":
            raise InvalidInput("require_aes: true needs expect: kerberos (got expect: %s); only a Kerberos ticket has "
                               "an encryption type to require" % args["expect"])
        target = _target(args["url"], args["connect_to"])
        mechanisms, ntlm_withheld = mechanisms_for(target.scheme, args["mechanisms"], args["expect"])
        if not client.HAS_GSSAPI and "kerberos" in mechanisms:
            raise InvalidInput("negotiate_probe needs the Python package gssapi on the controller for Kerberos "
                               "(pip install gssapi; it builds against the Kerberos headers, libkrb5-dev)")
        credential = client.probe_credential(username=args["username"], password=args["password"],
                                             principal=args["principal"], keytab=args["keytab"], ccache=args["ccache"])
        options = client.ProbeOptions(
            target=target, credential=credential, method=args["method"],
            service=args["service"], spn=args["spn"], include_port=args["include_port"],
            mechanisms=tuple(mechanisms), validate_certs=args["validate_certs"], ca_path=args["ca_path"],
            timeout=float(args["timeout"]), backend_header=args["backend_header"],
            channel_binding=args["channel_binding"])
        attempts = client.probe(options, args["count"])
        report = probe_report(attempts, args["url"], args["expect"], args["expect_status"], args["expect_backends"],
                              args["require_aes"])
        if ntlm_withheld and not report["ok"] and credential.password:
            report["msg"] += "; " + _NTLM_OVER_HTTP
        if target.scheme == "http" and "ntlm" in mechanisms and credential.password:
            self.add_warnings(result, ["negotiate_probe may send the NTLM exchange to %s over http:// (mechanisms "
                                       "lists ntlm): its response crosses the network unprotected" % target.host])
        result.update(report)
        result.update(changed=False, mechanisms=mechanisms)
        if not report["ok"] and args["fail_on_mismatch"]:
            result["failed"] = True
