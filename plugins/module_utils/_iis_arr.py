# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The ARR front end of seed 000: a web farm, the URL Rewrite global rule that routes to it, the proxy switch.

Three sections of applicationHost.config, all server-wide (``allowDefinition="AppHostOnly"``):

* ``webFarms``: the farm (``<webFarm name=...>``), its servers (one ``<server address=...>`` item
  each, with ``applicationRequestRouting`` weight and ports) and its ``applicationRequestRouting``
  settings (``loadBalancing``, ``healthCheck``, ``affinity``, ``protocol``);
* ``system.webServer/rewrite/globalRules``: the rule IIS Manager's "Create Server Farm" wizard
  writes, ``ARR_<farm>_loadbalance`` (``patternSyntax="Wildcard"``, ``match url="*"``,
  ``action type="Rewrite" url="http://<farm>/{R:0}"``, ``stopProcessing="true"``), plus the
  ``ARR_<farm>_loadbalance_SSL`` rule the wizard adds when SSL offloading is off;
* ``system.webServer/proxy``: ARR's server-wide switch (``enabled``) and the defaults for
  requests rewritten to plain URLs.

And the front door: anonymous authentication on, Windows authentication off on the ARR site,
planned by ``_iis_web_auth`` (the same rules as ``webfarm.winauth.web_auth``), so that ARR relays
the clients' ``Authorization`` headers instead of answering the handshake itself.

Validation happens here, before anything is read or written, with messages that name the
parameter, the value and the fix. The plan is item-level: adding a server to a farm is one
``add`` (plus ``set`` edits for its ports and weight), never a rewrite of the farm.

No I/O here.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ansible_collections.webfarm.winauth.plugins.module_utils import _iis_schema as S
from ansible_collections.webfarm.winauth.plugins.module_utils._iis_config import (
    Element,
    Plan,
    PlanError,
    SectionState,
    Target,
    heading,
    plan_attributes,
    render,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._iis_web_auth import (
    check_web_auth,
    plan_web_auth,
    web_auth_targets,
)

WEB_FARMS = S.WEB_FARMS
GLOBAL_RULES = S.GLOBAL_RULES
PROXY = S.PROXY

ALGORITHMS = ("WeightedRoundRobin", "RequestHash", "LeastRequests", "LeastResponseTime", "WeightedTotalTraffic")
# arr_schema.xml: "LeastRequests, LeastResponseTime and WeightedTotalTraffic are no longer supported. Enum
# element names remain in order to prevent failure after upgrade. If an unsupported loadBalancing value is
# specified, ARR will use the default (WeightedRoundRobin)."
RETIRED_ALGORITHMS = ("LeastRequests", "LeastResponseTime", "WeightedTotalTraffic")
_ALGORITHM_HINTS = {
    "roundrobin": "WeightedRoundRobin (round robin is weighted round robin with equal weights)",
    "weighted": "WeightedRoundRobin",
    "servervariablehash": "RequestHash with hash_server_variable",
    "querystringhash": "RequestHash with hash_query_string",
    "urlhash": "RequestHash (without hash_server_variable or hash_query_string, it hashes the URL)",
    "leastcurrentrequest": "LeastRequests",
    "leastconnections": "LeastRequests",
}
PATTERN_SYNTAXES = ("Wildcard", "ECMAScript", "ExactMatch")
SCHEMES = ("any", "https", "http")
UINT_MAX = S.UINT_MAX
MAX_SECONDS = 86400

_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_FARM_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?$")
_STATUS_RANGE = re.compile(r"^(\d{3})(?:-(\d{3}))?$")


# --- argument spec ----------------------------------------------------------------------------------

SERVER_SPEC: dict[str, t.Any] = {
    "address": {"type": "str", "required": True},
    "http_port": {"type": "int"},
    "https_port": {"type": "int"},
    "weight": {"type": "int"},
    "enabled": {"type": "bool", "default": True},
}
HEALTH_CHECK_SPEC: dict[str, t.Any] = {
    "url": {"type": "str"},
    "interval": {"type": "int"},
    "timeout": {"type": "int"},
    "status_codes": {"type": "str"},
    "response_match": {"type": "str"},
}
RULE_SPEC: dict[str, t.Any] = {
    "name": {"type": "str"},
    "enabled": {"type": "bool", "default": True},
    "pattern": {"type": "str"},
    "pattern_syntax": {"type": "str", "choices": list(PATTERN_SYNTAXES), "default": "Wildcard"},
    "ignore_case": {"type": "bool", "default": True},
    "host_header": {"type": "str"},
    "scheme": {"type": "str", "choices": list(SCHEMES), "default": "any"},
    "ssl_offload": {"type": "bool", "default": True},
}
PROXY_SPEC: dict[str, t.Any] = {
    "enabled": {"type": "bool"},
    "timeout": {"type": "int"},
    "preserve_host_header": {"type": "bool"},
    "reverse_rewrite_host": {"type": "bool"},
}
ARGUMENT_SPEC: dict[str, t.Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "enabled": {"type": "bool", "default": True},
    "servers": {"type": "list", "elements": "dict", "options": SERVER_SPEC},
    "purge_servers": {"type": "bool", "default": True},
    "algorithm": {"type": "str"},
    "hash_server_variable": {"type": "str"},
    "hash_query_string": {"type": "list", "elements": "str"},
    "health_check": {"type": "dict", "options": HEALTH_CHECK_SPEC},
    "client_affinity": {"type": "bool"},
    "affinity_cookie_name": {"type": "str"},
    "preserve_host_header": {"type": "bool", "default": True},
    "keep_alive": {"type": "bool"},
    "timeout": {"type": "int"},
    "rule": {"type": "dict", "options": RULE_SPEC, "apply_defaults": True},
    "proxy": {"type": "dict", "options": PROXY_SPEC, "apply_defaults": True},
    "site": {"type": "str", "default": "Default Web Site"},
    "front_door": {"type": "bool", "default": True},
}


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
    return S.format_timespan(value)


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


# --- reading and planning -------------------------------------------------------------------------------

def arr_targets() -> list[Target]:
    """The three server-wide sections, read whole (webFarms, globalRules, proxy)."""
    return [Target(WEB_FARMS), Target(GLOBAL_RULES), Target(PROXY)]


def targets(desired: Desired) -> list[Target]:
    """Everything the task reads, in one ``read`` call: the ARR sections, then the front door's."""
    if desired.manages_front_door:
        return arr_targets() + web_auth_targets(desired.site, None)
    return arr_targets()


def _fresh(state: SectionState, path: t.Sequence[t.Any]) -> SectionState:
    """A view of an element that is about to be (re-)created: everything at its schema defaults."""
    full = tuple(list(state.path) + list(path))
    return SectionState(state.section, state.location, full, state.override_mode,
                        Element(None, S.resolve_element(state.section, full)), {})


def _new_item(coll: S.Collection, values: dict[str, t.Any]) -> dict[str, t.Any]:
    """An item to add: its key and the attributes that differ from the schema default (as IIS writes them)."""
    item = {}
    for name, value in values.items():
        attr = coll.item.attr(name)
        if attr is None or value is None:
            continue
        value = S.normalize(attr, value)
        if attr.key or not S.values_equal(attr, S.default_value(attr), value):
            item[attr.name] = value
    return item


def _add(plan: Plan, state: SectionState, path: list[t.Any], values: dict[str, t.Any], label: str) -> None:
    coll = state.at(path).schema.collection
    item = _new_item(coll, values)
    plan.show(heading(state, path + [{k: v for k, v in item.items() if coll.item.attr(k).key}]), "(absent)",
              ", ".join("%s = %s" % (k, render(v)) for k, v in item.items()))
    plan.edit(state, "add", path, "add %s %s" % (coll.add, label), item=item)


def _remove(plan: Plan, state: SectionState, path: list[t.Any], key: dict[str, t.Any], label: str) -> None:
    coll = state.at(path).schema.collection
    plan.show(heading(state, path + [key]), "%s %s" % (coll.add, label), "(absent)")
    plan.edit(state, "remove", path, "remove %s %s" % (coll.add, label), key=key)


def _managed(values: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in values.items() if v is not None}


def plan_farm(plan: Plan, state: SectionState, desired: Desired) -> None:
    """The webFarm item, its ARR settings and its servers (item-level)."""
    key = {"name": desired.name}
    farm = state.element.item(key)
    if desired.state == "absent":
        if farm is not None:
            _remove(plan, state, [], key, desired.name)
        return
    if farm is None:
        _add(plan, state, [], {"name": desired.name, "enabled": desired.enabled}, desired.name)
    else:
        plan_attributes(plan, state, [key], {"enabled": desired.enabled})
    arr = [key, "applicationRequestRouting"]
    for child, values in (("loadBalancing", desired.load_balancing), ("healthCheck", desired.health_check),
                          ("affinity", desired.affinity), ("protocol", desired.protocol)):
        plan_attributes(plan, state, arr + [child], _managed(values))
    if desired.servers is None:
        return
    current = farm.items if farm is not None else []
    names = ", ".join(s.value("address") for s in current) or "(none)"
    wanted = {s["address"].lower() for s in desired.servers}
    kept = [s.value("address") for s in current if s.value("address").lower() in wanted or not desired.purge_servers]
    added = [s["address"] for s in desired.servers
             if farm is None or farm.item({"address": s["address"]}) is None]
    plan.show(heading(state, [key]), "servers = %s" % names, "servers = %s" % (", ".join(kept + added) or "(none)"))
    for server in desired.servers:
        server_key = {"address": server["address"]}
        if server["address"] in added:
            _add(plan, state, [key], {"address": server["address"], "enabled": server["enabled"]}, server["address"])
            plan_attributes(plan, _fresh(state, [key, server_key, "applicationRequestRouting"]), [],
                            _managed(server["arr"]))
        else:
            plan_attributes(plan, state, [key, server_key], {"enabled": server["enabled"]})
            plan_attributes(plan, state, [key, server_key, "applicationRequestRouting"], _managed(server["arr"]))
    if desired.purge_servers:
        for server in current:
            address = server.value("address")
            if address.lower() not in wanted:
                _remove(plan, state, [key], {"address": address}, address)


def _conditions_equal(have: Element, want: list[dict[str, t.Any]]) -> bool:
    items = have.items if have.exists else []
    if len(items) != len(want):
        return False
    coll = have.schema.collection
    for item, wanted in zip(items, want):
        for name in ("input", "matchType", "pattern", "ignoreCase", "negate"):
            attr = coll.item.attr(name)
            value = S.normalize(attr, wanted[name]) if name in wanted else S.default_value(attr)
            if not S.values_equal(attr, item.value(name), value):
                return False
    return True


def _plan_rule(plan: Plan, state: SectionState, rule: Rule, exists: bool) -> None:
    key = {"name": rule.name}
    target = state if exists else _fresh(state, [key])
    prefix: list[t.Any] = [key] if exists else []
    if exists:
        plan_attributes(plan, state, [key], rule.attributes)
    else:
        _add(plan, state, [], dict(key, **rule.attributes), rule.name)
    plan_attributes(plan, target, prefix + ["match"], rule.match)
    conditions = (state.at([key, "conditions"]) if exists
                  else Element(None, S.resolve_element(state.section, list(state.path) + [key, "conditions"])))
    plan_attributes(plan, target, prefix + ["conditions"], {"logicalGrouping": "MatchAll"})
    head = heading(state, [key, "conditions"])
    shown = ", ".join("%s ~ %s" % (c.value("input"), c.value("pattern")) for c in (
        conditions.items if conditions.exists else [])) or "(none)"
    wanted = ", ".join("%s ~ %s" % (c["input"], c["pattern"]) for c in rule.conditions) or "(none)"
    if _conditions_equal(conditions, rule.conditions):
        plan.show(head, "conditions = %s" % shown, "conditions = %s" % shown)
    else:
        plan.show(head, "conditions = %s" % shown, "conditions = %s" % wanted)
        if conditions.exists and conditions.items:
            plan.edit(state, "clear", [key, "conditions"], "clear conditions")
        for condition in rule.conditions:
            plan.edit(state, "add", [key, "conditions"], "add condition %s" % condition["input"], item=dict(condition))
    plan_attributes(plan, target, prefix + ["action"], rule.action)


def plan_rules(plan: Plan, state: SectionState, desired: Desired) -> None:
    """The routing rules, in order: missing ones added, changed ones edited, unwanted ones of ours removed.

    A rule that must come before one that exists (the ..._SSL rule before the plain one) is added
    ahead of it by removing and re-adding the plain rule, since an ``add`` appends.
    """
    existing = [item.value("name") for item in state.element.items]
    position = {n.lower(): i for i, n in enumerate(existing)}
    wanted = [] if desired.state == "absent" else desired.rules
    wanted_names = {r.name.lower() for r in wanted}
    for name in desired.rule_names:
        if name.lower() in position and name.lower() not in wanted_names:
            _remove(plan, state, [], {"name": existing[position[name.lower()]]}, name)
    indexes = [position.get(r.name.lower()) for r in wanted]
    present = [index for index in indexes if index is not None]
    missing_first = any(indexes[i] is None and any(j is not None for j in indexes[i + 1:]) for i in range(len(indexes)))
    reorder = present != sorted(present) or missing_first
    for rule, index in zip(wanted, indexes):
        if reorder and index is not None:
            _remove(plan, state, [], {"name": existing[index]}, rule.name + " (to put the rules in order)")
    for rule, index in zip(wanted, indexes):
        _plan_rule(plan, state, rule, index is not None and not reorder)
    if desired.state == "absent":
        for item in state.element.items:
            url = item.child("action").value("url") or ""
            name = item.value("name")
            if name.lower() not in {n.lower() for n in desired.rule_names} and re.match(
                    r"^https?://%s(/|$)" % re.escape(desired.name), url, re.IGNORECASE):
                plan.warnings.append("global rule %r still rewrites to %s, which names the removed farm %s; "
                                     "remove or change that rule" % (name, url, desired.name))


def plan_proxy(plan: Plan, state: SectionState, desired: Desired) -> None:
    plan_attributes(plan, state, [], _managed(desired.proxy))


def plan_arr(plan: Plan, states: t.Sequence[SectionState], desired: Desired) -> None:
    """Plan the farm, its rules and the proxy switch from the states read for ``arr_targets()``."""
    farms, rules, proxy = states[:3]
    plan_farm(plan, farms, desired)
    plan_rules(plan, rules, desired)
    plan_proxy(plan, proxy, desired)
    if desired.manages_front_door:
        plan_web_auth(plan, states[3:], desired.site, None, FRONT_DOOR_WINDOWS, FRONT_DOOR_ANONYMOUS)
    plan.warnings.extend(desired.warnings)
    if desired.state == "present":
        farm = farms.element.item({"name": desired.name})
        keep_alive = desired.protocol.get("keepAlive")
        if keep_alive is None and farm is not None:
            keep_alive = farm.child("applicationRequestRouting").child("protocol").value("keepAlive")
        if desired.servers == [] or (desired.servers is None and (farm is None or not farm.items)):
            plan.warnings.append("farm %s has no servers: ARR answers the requests the rule routes to it with an "
                                 "error (502) until servers are added" % desired.name)
        if keep_alive is False:
            plan.warnings.append("keep_alive is false: ARR closes each backend connection after one response, and "
                                 "NTLM, whose challenge and answer must travel on one connection, cannot "
                                 "authenticate through the farm (Kerberos can); see docs/arr-farm.md")


def farm_summary(states: t.Sequence[SectionState], desired: Desired) -> dict[str, t.Any] | None:
    """The farm as the task leaves it (or would, in check mode): None when absent."""
    if desired.state == "absent":
        return None
    farm = states[0].element.item({"name": desired.name})
    schema = S.resolve_element(states[0].section, [{"name": desired.name}])

    def value(element: Element | None, path: list[str], name: str, wanted: t.Any) -> t.Any:
        if wanted is not None:
            return wanted
        node = element if element is not None else Element(None, schema)
        for step in path:
            node = node.child(step)
        return node.value(name)

    servers = []
    current = farm.items if farm is not None else []
    listed = {s["address"].lower(): s for s in desired.servers or []}
    for server in current:
        if desired.servers is not None and desired.purge_servers and server.value("address").lower() not in listed:
            continue
        want = listed.pop(server.value("address").lower(), {"enabled": None, "arr": {}})
        arr = server.child("applicationRequestRouting")
        servers.append({"address": server.value("address"),
                        "enabled": want["enabled"] if want["enabled"] is not None else server.value("enabled"),
                        "weight": want["arr"].get("weight") or arr.value("weight"),
                        "http_port": want["arr"].get("httpPort") or arr.value("httpPort"),
                        "https_port": want["arr"].get("httpsPort") or arr.value("httpsPort")})
    server_schema = schema.collection.item.child("applicationRequestRouting")
    for want in listed.values():
        servers.append({"address": want["address"], "enabled": want["enabled"],
                        "weight": want["arr"].get("weight") or S.default_value(server_schema.attr("weight")),
                        "http_port": want["arr"].get("httpPort") or S.default_value(server_schema.attr("httpPort")),
                        "https_port": want["arr"].get("httpsPort") or S.default_value(server_schema.attr("httpsPort"))})
    arr = ["applicationRequestRouting"]
    lb, health, aff, proto = (desired.load_balancing, desired.health_check, desired.affinity, desired.protocol)
    return {
        "name": farm.value("name") if farm is not None else desired.name,
        "enabled": desired.enabled,
        "servers": servers,
        "algorithm": value(farm, arr + ["loadBalancing"], "algorithm", lb.get("algorithm")),
        "hash_server_variable": value(farm, arr + ["loadBalancing"], "hashServerVariable",
                                      lb.get("hashServerVariable")),
        "hash_query_string": [n for n in value(farm, arr + ["loadBalancing"], "queryStringNames",
                                               lb.get("queryStringNames")).split(",") if n],
        "health_check": {
            "url": value(farm, arr + ["healthCheck"], "url", health.get("url")),
            "interval": int(S.timespan_seconds(value(farm, arr + ["healthCheck"], "interval", health.get("interval")))),
            "timeout": int(S.timespan_seconds(value(farm, arr + ["healthCheck"], "timeout", health.get("timeout")))),
            "status_codes": value(farm, arr + ["healthCheck"], "statusCodeMatch", health.get("statusCodeMatch")),
            "response_match": value(farm, arr + ["healthCheck"], "responseMatch", health.get("responseMatch")),
        },
        "client_affinity": value(farm, arr + ["affinity"], "useCookie", aff.get("useCookie")),
        "affinity_cookie_name": value(farm, arr + ["affinity"], "cookieName", aff.get("cookieName")),
        "preserve_host_header": value(farm, arr + ["protocol"], "preserveHostHeader", proto.get("preserveHostHeader")),
        "keep_alive": value(farm, arr + ["protocol"], "keepAlive", proto.get("keepAlive")),
        "timeout": int(S.timespan_seconds(value(farm, arr + ["protocol"], "timeout", proto.get("timeout")))),
    }
