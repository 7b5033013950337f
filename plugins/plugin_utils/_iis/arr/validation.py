# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The validation of webfarm.winauth.arr_farm's options into the desired state, before anything is read.

Messages name the parameter, the value and the fix. The desired state is in the schema's terms
(``Desired``, ``Rule``); the plan (``plan``) compares it with what the host holds. No I/O here.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import values as V
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr.spec import (
    _ALGORITHM_HINTS,
    _FARM_NAME,
    _LABEL,
    _STATUS_RANGE,
    ALGORITHMS,
    ARGUMENT_SPEC,
    MAX_SECONDS,
    RETIRED_ALGORITHMS,
    RULE_SPEC,
    UINT_MAX,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import PlanError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import check_web_auth


class ArrError(PlanError):
    """A parameter that cannot be used (the message names the parameter, the value and the fix)."""


# --- validation -------------------------------------------------------------------------------------

def check_farm_name(name: str) -> str:
    if not isinstance(name, str) or not _FARM_NAME.match(name) or len(name) > 253:
        raise ArrError("name: %r cannot name a web farm here: the routing rule rewrites requests to "
                       "http://<name>/{R:0}, so the name must work as a host name. Fix: use letters, digits, "
                       "'.', '-' and '_' only, such as sso-farm" % (name,))
    return name


def check_address(address: str, where: str) -> str:
    """A server address as ARR takes it: a host name, FQDN or IP address, with no scheme, port or path."""
    value = address if isinstance(address, str) else ""
    fix = ("Fix: give the host name, FQDN or IP address only, such as content1.camtest.local; ports go in "
           "http_port and https_port")
    if not value or value != value.strip() or any(c.isspace() for c in value):
        raise ArrError("%s: %r is not a server address (empty or contains white space). %s" % (where, address, fix))
    if "://" in value or "/" in value or "\\" in value or "@" in value:
        raise ArrError("%s: %r is not a server address (a URL or path, not a host). %s" % (where, address, fix))
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if value.startswith("[") and value.endswith("]"):
        raise ArrError("%s: %r is not a server address (an IPv6 address goes without brackets). %s"
                       % (where, address, fix))
    if ":" in value:
        host, _sep, port = value.rpartition(":")
        what = "a port number" if port.isdigit() and host else "a ':'"
        raise ArrError("%s: %r is not a server address (it holds %s). %s" % (where, address, what, fix))
    labels = value.rstrip(".").split(".") if len(value) <= 253 else []
    if not labels or not all(_LABEL.match(label) for label in labels):
        raise ArrError("%s: %r is not a server address (not a valid host name: labels of letters, digits and '-', "
                       "1 to 63 characters, separated by '.'). %s" % (where, address, fix))
    if all(label.isdigit() for label in labels):
        raise ArrError("%s: %r is not a server address (it looks like an IPv4 address but is not one). %s"
                       % (where, address, fix))
    return value


def check_url(url: str, where: str) -> str:
    """An absolute http(s) URL, as ARR's health test needs."""
    fix = ("Fix: give an absolute http:// or https:// URL such as http://sso.camtest.local/health.htm "
           "(ARR requests it from every server of the farm), or \"\" for no URL test")
    if not isinstance(url, str) or url != url.strip() or any(c.isspace() for c in url):
        raise ArrError("%s: %r is not a URL (white space). %s" % (where, url, fix))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ArrError("%s: %r is not a URL (%s). %s" % (where, url, exc, fix)) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ArrError("%s: %r is not a URL (it needs the http:// or https:// scheme and a host). %s"
                       % (where, url, fix))
    try:
        check_address(parts.hostname, where)
    except ArrError:
        raise ArrError("%s: %r is not a URL (%r is not a host name). %s" % (where, url, parts.hostname, fix)) from None
    if port is not None and not 1 <= port <= 65535:
        raise ArrError("%s: %r is not a URL (port %d). %s" % (where, url, port, fix))
    return url


def check_status_codes(value: str, where: str) -> str:
    """ARR's statusCodeMatch: codes and ranges, comma separated (200-399, or 200,302)."""
    fix = "Fix: give HTTP status codes or ranges separated by commas, such as 200-399 or 200,302"
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else []
    if not parts or any(not p for p in parts):
        raise ArrError("%s: %r is not a status code list. %s" % (where, value, fix))
    for part in parts:
        match = _STATUS_RANGE.match(part)
        low, high = (int(match.group(1)), int(match.group(2) or match.group(1))) if match else (0, 0)
        if not match or not 100 <= low <= high <= 599:
            raise ArrError("%s: %r is not a status code list (%r). %s" % (where, value, part, fix))
    return ",".join(parts)


_PYTHON_ONLY_ESCAPES = {"A": "^", "Z": "$", "z": "$", "G": "(nothing: ECMAScript has no \\G)"}


def check_ecmascript(pattern: str, where: str) -> str:
    """Compile an ECMAScript pattern (URL Rewrite's default syntax) with Python's re, for their common subset.

    Refused before compiling, because Python would accept them with another meaning or ECMAScript
    lacks them: group extensions other than ``(?:``, ``(?=`` and ``(?!`` (Python's ``(?P<n>``,
    ``(?i)``, lookbehind, atomic groups, comments), and the ``\\A``, ``\\Z``, ``\\z`` and ``\\G``
    escapes. ECMAScript constructs that Python lacks (``[^]``, ``\\cX``) fail to compile and are
    reported like any other error.
    """
    fix = ("Fix: correct the regular expression, or set rule.pattern_syntax to Wildcard (* matches anything) "
           "or ExactMatch")
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if not in_class and escaped in _PYTHON_ONLY_ESCAPES:
                raise ArrError("%s: %r is not an ECMAScript regular expression: \\%s is Python or Perl syntax; "
                               "ECMAScript reads it as the letter %s. Fix: write %s instead"
                               % (where, pattern, escaped, escaped, _PYTHON_ONLY_ESCAPES[escaped]))
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            start = index
            if pattern[index + 1:index + 2] == "^":
                index += 1
            if pattern[index + 1:index + 2] == "]":   # leading ]: literal in Python, empty class in ECMAScript
                raise ArrError("%s: %r: '[]' or '[^]' at offset %d means something else in ECMAScript and in "
                               "Python. Fix: write \\] for a literal ], or [\\s\\S] for any character"
                               % (where, pattern, start))
        elif char == "(" and pattern[index + 1:index + 3] not in ("", "?:", "?=", "?!") and pattern[index + 1] == "?":
            raise ArrError("%s: %r is not an ECMAScript regular expression: the group at offset %d uses %r, which URL "
                           "Rewrite's ECMAScript syntax does not have (only (?: (?= and (?! are). %s"
                           % (where, pattern, index, pattern[index:index + 4], fix))
        index += 1
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ArrError("%s: %r does not compile as a regular expression: %s. %s" % (where, pattern, exc, fix)) from None
    return pattern


def check_pattern(pattern: str, syntax: str, where: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise ArrError("%s: the pattern must not be empty. Fix: give a pattern, such as * (Wildcard) or .* "
                       "(ECMAScript)" % where)
    if syntax == "ECMAScript":
        return check_ecmascript(pattern, where)
    return pattern


def check_algorithm(value: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    for name in ALGORITHMS:
        if name.lower() == text.lower():
            return name
    key = re.sub(r"[^a-z]", "", text.lower())
    hint = _ALGORITHM_HINTS.get(key)
    raise ArrError("algorithm: %r is not an ARR load-balancing algorithm. Fix: %suse one of the names in ARR's "
                   "schema: %s" % (value, "use %s; or " % hint if hint else "", ", ".join(ALGORITHMS)))


def _seconds(value: int | None, where: str, low: int, high: int = MAX_SECONDS) -> str | None:
    if value is None:
        return None
    if not low <= value <= high:
        raise ArrError("%s: %d seconds is out of range. Fix: give %d to %d seconds" % (where, value, low, high))
    return V.format_timespan(value)


def _number(value: int | None, where: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise ArrError("%s: %d is out of range. Fix: give %d to %d" % (where, value, low, high))
    return value


# the front door of seed 000: ARR accepts clients anonymously and relays their credentials to the farm
FRONT_DOOR_WINDOWS: dict[str, t.Any] = {"enabled": False}
FRONT_DOOR_ANONYMOUS: dict[str, t.Any] = {"enabled": True}


# --- the desired state --------------------------------------------------------------------------------

@dataclass
class Rule:
    name: str
    attributes: dict[str, t.Any]
    match: dict[str, t.Any]
    conditions: list[dict[str, t.Any]]
    action: dict[str, t.Any]


@dataclass
class Desired:
    """The validated parameters, in the schema's terms (None: not managed)."""

    name: str
    state: str
    enabled: bool
    servers: list[dict[str, t.Any]] | None
    purge_servers: bool
    load_balancing: dict[str, t.Any]
    health_check: dict[str, t.Any]
    affinity: dict[str, t.Any]
    protocol: dict[str, t.Any]
    rules: list[Rule]
    rule_names: tuple[str, str]
    proxy: dict[str, t.Any]
    site: str
    front_door: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def manages_front_door(self) -> bool:
        """The front door is set with state=present only: removing a farm leaves the site's authentication."""
        return self.front_door and self.state == "present"


def rule_names(farm: str, rule_name: str | None) -> tuple[str, str]:
    """The plain rule's name and the name of its HTTPS twin (the wizard's ..._SSL rule)."""
    base = rule_name or "ARR_%s_loadbalance" % farm
    return base, base + "_SSL"


def _scheme_pattern(on: bool, syntax: str) -> str:
    word = "on" if on else "off"
    return "^%s$" % word if syntax == "ECMAScript" else word.capitalize()


def desired_rules(farm: str, rule: dict[str, t.Any]) -> list[Rule]:
    """The global rules that route to the farm, in the order they must appear.

    With SSL offloading (the wizard's default), one rule sends everything it matches to
    ``http://<farm>/{R:0}``. Without it, as the wizard does, a ``..._SSL`` rule sends HTTPS
    requests to ``https://<farm>/{R:0}`` ahead of the plain rule.
    """
    syntax = rule["pattern_syntax"]
    plain, secure = rule_names(farm, rule.get("name"))
    attributes = {"enabled": rule["enabled"], "patternSyntax": syntax, "stopProcessing": True}
    match = {"url": rule["pattern"], "ignoreCase": rule["ignore_case"]}
    host = [{"input": "{HTTP_HOST}", "pattern": rule["host_header"]}] if rule.get("host_header") else []
    scheme, offload = rule["scheme"], rule["ssl_offload"]
    rules = []
    if not offload and scheme in ("any", "https"):
        conditions = host + [{"input": "{HTTPS}", "pattern": _scheme_pattern(True, syntax)}]
        rules.append(Rule(secure, attributes, match, conditions, {"type": "Rewrite", "url": "https://%s/{R:0}" % farm}))
    if offload or scheme in ("any", "http"):
        conditions = list(host)
        if scheme != "any":
            conditions.append({"input": "{HTTPS}", "pattern": _scheme_pattern(scheme == "https", syntax)})
        rules.append(Rule(plain, attributes, match, conditions, {"type": "Rewrite", "url": "http://%s/{R:0}" % farm}))
    return rules


def validate(args: dict[str, t.Any]) -> Desired:
    """Check every parameter before anything is read or written; return the desired state."""
    args = dict(args)
    for key, spec in ARGUMENT_SPEC.items():     # the action validated the spec; defaults for direct callers
        if args.get(key) is None:
            args[key] = spec.get("default")
    name = check_farm_name(args["name"])
    warnings: list[str] = []
    servers = None
    if args.get("servers") is not None:
        servers = []
        seen: dict[str, int] = {}
        for index, server in enumerate(args["servers"]):
            where = "servers[%d]" % index
            address = check_address(server["address"], where + ".address")
            if address.lower() in seen:
                raise ArrError("%s.address: %r is listed twice (also servers[%d]). Fix: list each server once"
                               % (where, address, seen[address.lower()]))
            seen[address.lower()] = index
            servers.append({
                "address": address,
                "enabled": server.get("enabled", True),
                "arr": {"weight": _number(server.get("weight"), where + ".weight", 1, UINT_MAX),
                        "httpPort": _number(server.get("http_port"), where + ".http_port", 1, 65535),
                        "httpsPort": _number(server.get("https_port"), where + ".https_port", 1, 65535)},
            })
    load_balancing: dict[str, t.Any] = {}
    algorithm = check_algorithm(args["algorithm"]) if args.get("algorithm") is not None else None
    variable, query = args.get("hash_server_variable"), args.get("hash_query_string")
    if (variable or query) and algorithm != "RequestHash":
        given = "hash_server_variable" if variable else "hash_query_string"
        raise ArrError("%s is set but algorithm is %s. Fix: set algorithm: RequestHash (ARR hashes the server "
                       "variable or query string names only with that algorithm), or leave %s out"
                       % (given, algorithm or "not given", given))
    if variable and query:
        raise ArrError("hash_server_variable and hash_query_string are both set. Fix: choose one: ARR hashes "
                       "either a server variable or query string names")
    if variable is not None and (not variable.strip() or any(c.isspace() for c in variable)):
        raise ArrError("hash_server_variable: %r is not a server variable name. Fix: give a name such as "
                       "REMOTE_ADDR or HTTP_HOST" % variable)
    names = [n.strip() for n in query or []]
    if any(not n or "," in n for n in names):
        raise ArrError("hash_query_string: %r holds an empty name or a comma. Fix: list query string names, one "
                       "per entry" % (query,))
    if algorithm is not None:
        load_balancing["algorithm"] = algorithm
        load_balancing["hashServerVariable"] = variable or ""      # cleared for the other algorithms
        load_balancing["queryStringNames"] = ",".join(names)
        if algorithm in RETIRED_ALGORITHMS:
            warnings.append("algorithm %s: ARR 3's schema says it no longer supports %s and uses WeightedRoundRobin "
                            "instead; the setting is written as asked, but expect weighted round robin"
                            % (algorithm, algorithm))
    health_check: dict[str, t.Any] = {}
    health = args.get("health_check") or {}
    if health:
        if health.get("url") is not None:
            health_check["url"] = check_url(health["url"], "health_check.url") if health["url"] else ""
        interval = health.get("interval")
        timeout = health.get("timeout")
        health_check["interval"] = _seconds(interval, "health_check.interval", 0)
        health_check["timeout"] = _seconds(timeout, "health_check.timeout", 1)
        if interval and timeout and timeout > interval:
            raise ArrError("health_check.timeout: %d seconds is longer than health_check.interval (%d seconds), so "
                           "tests would overlap. Fix: give a timeout no longer than the interval" % (timeout, interval))
        if health.get("status_codes") is not None:
            health_check["statusCodeMatch"] = check_status_codes(health["status_codes"], "health_check.status_codes")
        health_check["responseMatch"] = health.get("response_match")
    affinity = {"useCookie": args.get("client_affinity")}
    cookie = args.get("affinity_cookie_name")
    if cookie is not None:
        if not cookie or not re.match(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", cookie):
            raise ArrError("affinity_cookie_name: %r is not a cookie name. Fix: use letters, digits and - _ . only, "
                           "such as ARRAffinity" % cookie)
        affinity["cookieName"] = cookie
    protocol = {"preserveHostHeader": args.get("preserve_host_header"), "keepAlive": args.get("keep_alive"),
                "timeout": _seconds(args.get("timeout"), "timeout", 1)}
    rule = dict(args.get("rule") or {})
    for key, spec in RULE_SPEC.items():
        rule.setdefault(key, spec.get("default"))
    if rule.get("name") is not None and (not rule["name"].strip() or rule["name"] != rule["name"].strip()):
        raise ArrError("rule.name: %r must not be empty or start or end with white space. Fix: give a name such as "
                       "ARR_%s_loadbalance, or leave rule.name out for that default" % (rule["name"], name))
    if rule.get("pattern") is None:
        if rule["pattern_syntax"] == "ExactMatch":
            raise ArrError("rule.pattern: ExactMatch needs the exact URL path to match. Fix: give rule.pattern (the "
                           "path without its leading /), or use pattern_syntax Wildcard or ECMAScript")
        rule["pattern"] = "*" if rule["pattern_syntax"] == "Wildcard" else ".*"
    check_pattern(rule["pattern"], rule["pattern_syntax"], "rule.pattern")
    if rule.get("host_header") is not None:
        check_pattern(rule["host_header"], rule["pattern_syntax"], "rule.host_header")
    proxy_args = dict(args.get("proxy") or {})
    enabled = proxy_args.get("enabled")
    if enabled is None and args["state"] == "present":
        enabled = True
    proxy = {"enabled": enabled, "timeout": _seconds(proxy_args.get("timeout"), "proxy.timeout", 1),
             "preserveHostHeader": proxy_args.get("preserve_host_header"),
             "reverseRewriteHostInResponseHeaders": proxy_args.get("reverse_rewrite_host")}
    if args["state"] == "present" and enabled is False:
        warnings.append("proxy.enabled is false: ARR forwards nothing, so the farm receives no requests until the "
                        "proxy is enabled")
    site = args.get("site") or ""
    if args.get("front_door", True) and not site.strip():
        raise ArrError("site: the front door needs the ARR site's name. Fix: give site (such as Default Web Site) "
                       "or set front_door: false")
    check_web_auth(FRONT_DOOR_WINDOWS, FRONT_DOOR_ANONYMOUS)
    return Desired(name=name, state=args["state"], enabled=args.get("enabled", True), servers=servers,
                   purge_servers=args.get("purge_servers", True), load_balancing=load_balancing,
                   health_check=health_check, affinity=affinity, protocol=protocol,
                   rules=desired_rules(name, rule), rule_names=rule_names(name, rule.get("name")), proxy=proxy,
                   site=site, front_door=bool(args.get("front_door", True)), warnings=warnings)
