# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The options of webfarm.winauth.arr_farm (its argument spec) and the ARR facts they are checked against."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import schema as S

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
