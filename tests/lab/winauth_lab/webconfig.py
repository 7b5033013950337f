# Internal to the webfarm.winauth lab.
"""What IIS would do with one HTTP request, read from a lab node's own applicationHost.config.

The lab's web endpoint (``winauth_lab.web``) asks this module, for every request, the questions
IIS answers from its configuration, using the twin's configuration engine (``iis.config``) so
that inheritance, location paths and defaults are exactly those the collection's scripts see:

* which site a request reaches (``match_site``: a binding's protocol, IP address, port and host
  name, most specific first, as HTTP.sys picks it);
* the application and application pool that serve its path (``application_for``, ``pool``);
* the authentication in effect at its location path (``auth_settings``): anonymous and Windows
  authentication, the providers in order, kernel mode, useAppPoolCredentials;
* whose keys decrypt a Kerberos ticket there (``acceptor_account``);
* URL Rewrite's global rules and ARR's web farms (``rewrite``, ``farm``, ``proxy_enabled``).

No I/O: callers pass the engine (and the runtime state of pools and sites).
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from .iis import config as twin
from .collection import acceptor, iis_schema as S, iis_sections as sections


def _values(element: dict | None) -> dict[str, t.Any]:
    if not element:
        return {}
    return {name: entry.get("value") for name, entry in element.get("attributes", {}).items()}


def _child(element: dict | None, name: str) -> dict | None:
    if not element:
        return None
    return element.get("children", {}).get(name)


def _items(element: dict | None) -> list[dict]:
    return list((element or {}).get("items", []))


def read(engine: twin.ConfigEngine, section: str, location: str = "", path: list | None = None) -> dict | None:
    """The effective element of a section at a location (None when the section is not declared)."""
    try:
        return engine.read({"section": section, "location": location, "path": path or []})["element"]
    except twin.RemoteError:
        return None


# --- sites and bindings ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Binding:
    protocol: str
    address: str        # "*" or an IP address
    port: int
    host: str           # "" for any host name

    @classmethod
    def parse(cls, protocol: str, information: str) -> "Binding | None":
        parts = str(information).rsplit(":", 2)
        if len(parts) != 3:
            return None
        address, port, host = parts
        try:
            number = int(port)
        except ValueError:
            return None
        return cls(str(protocol).lower(), address.strip("[]") or "*", number, host.lower())

    def matches(self, protocol: str, local_ip: str, port: int, host: str) -> int:
        """0 when it does not match; otherwise a score, higher for more specific bindings."""
        if self.protocol != protocol or self.port != port:
            return 0
        if self.address not in ("*", "") and self.address != local_ip:
            return 0
        if self.host and self.host != host:
            return 0
        return 1 + (2 if self.host else 0) + (1 if self.address not in ("*", "") else 0)


@dataclass
class Site:
    name: str
    id: int
    element: dict
    binding: Binding

    @property
    def applications(self) -> list[dict[str, t.Any]]:
        return [_values(item) for item in _items(self.element)]


def sites(engine: twin.ConfigEngine) -> list[dict]:
    return _items(read(engine, S.SITES))


def match_site(engine: twin.ConfigEngine, protocol: str, local_ip: str, port: int, host: str) -> Site | None:
    """The site HTTP.sys would hand the request to, or None (HTTP.sys answers 400 Invalid Hostname)."""
    host = (host or "").split(":")[0].strip("[]").lower().rstrip(".")
    best: tuple[int, Site] | None = None
    for item in sites(engine):
        values = _values(item)
        for binding_item in _items(_child(item, "bindings")):
            binding_values = _values(binding_item)
            binding = Binding.parse(binding_values.get("protocol", ""), binding_values.get("bindingInformation", ""))
            if binding is None:
                continue
            score = binding.matches(protocol, local_ip, port, host)
            if score and (best is None or score > best[0]):
                best = (score, Site(str(values.get("name")), int(values.get("id") or 0), item, binding))
    return best[1] if best else None


def location_of(site: str, url_path: str) -> str:
    """The configuration location path of a request: ``Site`` or ``Site/dir/page``."""
    path = "/".join(part for part in url_path.split("?", 1)[0].split("/") if part)
    return site + ("/" + path if path else "")


def application_for(site: Site, url_path: str) -> tuple[str, str]:
    """(application path, pool name) of the deepest application containing the path."""
    wanted = "/" + "/".join(part for part in url_path.split("?", 1)[0].split("/") if part).lower()
    best: tuple[str, str] | None = None
    for app in site.applications:
        path = "/" + str(app.get("path") or "/").strip("/")
        lowered = path.lower()
        if lowered == "/" or wanted == lowered or wanted.startswith(lowered + "/"):
            if best is None or len(path) > len(best[0]):
                best = (path, str(app.get("applicationPool") or ""))
    return best or ("/", "")


# --- application pools ------------------------------------------------------------------------------

@dataclass
class Pool:
    name: str
    identity_type: str
    username: str
    password: str | None = field(repr=False)     # clear text for the lab's logon check; None: unreadable
    auto_start: bool = True

    @property
    def is_domain_account(self) -> bool:
        return acceptor.is_domain_identity(self.identity_type, self.username)

    @property
    def account(self) -> str:
        """The sAMAccountName of a domain identity (``cam-svc`` for ``CAMTEST\\cam-svc``)."""
        return acceptor.account_name(self.username)

    def display(self) -> str:
        return acceptor.identity_label(self.identity_type, self.username, self.name)


def pool(engine: twin.ConfigEngine, name: str) -> Pool | None:
    section = sections.get_section(S.APPLICATION_POOLS)
    view = engine.view(section, "")
    found = twin._descend(view, [{"name": name}], section)  # pylint: disable=protected-access  # the twin's merge
    if found is None:
        return None
    model = twin._descend(view, [{"name": name}, "processModel"], section)  # pylint: disable=protected-access
    attrs = {a.name: a for a in S.resolve_element(section, [{"name": name}, "processModel"]).attrs}

    def value(attr_name: str) -> t.Any:
        return twin._effective(model.view, model.defaults, attrs[attr_name])[0]  # pylint: disable=protected-access

    pool_attrs = {a.name: a for a in section.root.collection.item.attrs}
    auto = twin._effective(found.view, found.defaults, pool_attrs["autoStart"])[0]  # pylint: disable=protected-access
    return Pool(name, str(value("identityType")), str(value("userName") or ""), value("password"), bool(auto))


# --- authentication ------------------------------------------------------------------------------------

@dataclass
class AuthSettings:
    anonymous: bool
    windows: bool
    providers: list[str]
    use_kernel_mode: bool
    use_app_pool_credentials: bool
    auth_persist_single_request: bool
    auth_persist_non_ntlm: bool

    @property
    def offers_negotiate(self) -> bool:
        return acceptor.offers_kerberos(self.providers)

    @property
    def negotiate_allows_ntlm(self) -> bool:
        """Negotiate falls back to NTLM unless the provider is Negotiate:Kerberos."""
        return any(p.lower() == "negotiate" for p in self.providers)

    @property
    def offers_ntlm(self) -> bool:
        return any(p.lower() == "ntlm" for p in self.providers)

    def challenges(self) -> list[str]:
        """WWW-Authenticate values of a 401, in provider order (Negotiate:Kerberos is offered as Negotiate)."""
        offered: list[str] = []
        for provider in self.providers:
            scheme = "Negotiate" if provider.lower().startswith("negotiate") else provider
            if scheme not in offered:
                offered.append(scheme)
        return offered


def auth_settings(engine: twin.ConfigEngine, location: str) -> AuthSettings:
    windows = read(engine, S.WINDOWS_AUTHENTICATION, location)
    anonymous = read(engine, S.ANONYMOUS_AUTHENTICATION, location)
    win = _values(windows)
    providers = [str(_values(item).get("value")) for item in _items(_child(windows, "providers"))]
    return AuthSettings(
        anonymous=bool(_values(anonymous).get("enabled", True)),
        windows=bool(win.get("enabled", False)),
        providers=providers,
        use_kernel_mode=bool(win.get("useKernelMode", True)),
        use_app_pool_credentials=bool(win.get("useAppPoolCredentials", False)),
        auth_persist_single_request=bool(win.get("authPersistSingleRequest", False)),
        auth_persist_non_ntlm=bool(win.get("authPersistNonNTLM", False)),
    )


def acceptor_account(settings: AuthSettings, app_pool: Pool | None, computer: str) -> acceptor.KeySource:
    """Whose keys decrypt Kerberos tickets at a location: the collection's own rule (``acceptor``)."""
    return acceptor.decrypting_account(settings.use_kernel_mode, settings.use_app_pool_credentials,
                                       app_pool.identity_type if app_pool is not None else None,
                                       app_pool.username if app_pool is not None else "", computer)


# --- URL Rewrite global rules and ARR -------------------------------------------------------------------

@dataclass
class RewriteResult:
    rule: str
    action: str                       # Rewrite | Redirect | CustomResponse | AbortRequest
    url: str = ""
    status: int = 0
    substatus: int = 0
    reason: str = ""


def _wildcard(pattern: str) -> str:
    out = []
    for char in pattern:
        if char == "*":
            out.append("(.*)")
        elif char == "?":
            out.append("(.)")
        else:
            out.append(re.escape(char))
    return "^" + "".join(out) + "$"


def _match(syntax: str, pattern: str, value: str, ignore_case: bool) -> list[str] | None:
    """Captures ({R:0}, {R:1}, ...) when value matches, else None."""
    flags = re.IGNORECASE if ignore_case else 0
    if syntax == "ExactMatch":
        equal = value.lower() == pattern.lower() if ignore_case else value == pattern
        return [value] if equal else None
    regex = _wildcard(pattern) if syntax == "Wildcard" else pattern
    try:
        found = re.search(regex, value, flags)
    except re.error:
        return None
    if not found:
        return None
    return [found.group(0)] + [g or "" for g in found.groups()]


def _expand(template: str, variables: t.Callable[[str], str], rule_captures: list[str],
            cond_captures: list[str]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if re.fullmatch(r"R:\d+", name):
            index = int(name[2:])
            return rule_captures[index] if index < len(rule_captures) else ""
        if re.fullmatch(r"C:\d+", name):
            index = int(name[2:])
            return cond_captures[index] if index < len(cond_captures) else ""
        return variables(name)
    return re.sub(r"\{([^{}]+)\}", replace, template)


def rewrite(engine: twin.ConfigEngine, url_path: str, query: str,
            variables: t.Callable[[str], str]) -> RewriteResult | None:
    """Run the global rules over a request (server variables from ``variables``); the action taken, if any."""
    rules = _items(read(engine, S.GLOBAL_RULES))
    current = url_path.lstrip("/")
    for rule in rules:
        values = _values(rule)
        if not values.get("enabled", True):
            continue
        syntax = str(values.get("patternSyntax") or "ECMAScript")
        match = _values(_child(rule, "match"))
        captures = _match(syntax, str(match.get("url") or ""), current, bool(match.get("ignoreCase", True)))
        if bool(match.get("negate")):
            captures = [current] if captures is None else None
        if captures is None:
            continue
        conditions = _child(rule, "conditions")
        grouping = str(_values(conditions).get("logicalGrouping") or "MatchAll")
        cond_captures: list[str] = []
        results = []
        for cond in _items(conditions):
            c = _values(cond)
            text = _expand(str(c.get("input") or ""), variables, captures, cond_captures)
            found = _match(syntax, str(c.get("pattern") or ""), text, bool(c.get("ignoreCase", True)))
            ok = (found is None) if c.get("negate") else (found is not None)
            if ok and found is not None and not c.get("negate"):
                cond_captures = found
            results.append(ok)
        if results and not (all(results) if grouping == "MatchAll" else any(results)):
            continue
        action = _values(_child(rule, "action"))
        kind = str(action.get("type") or "None")
        name = str(values.get("name"))
        if kind == "None":
            if values.get("stopProcessing"):
                return None
            continue
        url = _expand(str(action.get("url") or ""), variables, captures, cond_captures)
        if kind in ("Rewrite", "Redirect") and action.get("appendQueryString", True) and query:
            url += ("&" if "?" in url else "?") + query
        if kind == "Rewrite" and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url):
            current = url.lstrip("/")     # a rewrite to a local path: later rules see the new path
            if values.get("stopProcessing"):
                return RewriteResult(name, "Rewrite", "/" + current)
            continue
        redirect = {"Permanent": 301, "Found": 302, "SeeOther": 303, "Temporary": 307}
        return RewriteResult(name, kind, url, status=int(action.get("statusCode") or 0) if kind == "CustomResponse"
                             else redirect.get(str(action.get("redirectType")), 301) if kind == "Redirect" else 0,
                             substatus=int(action.get("subStatusCode") or 0),
                             reason=str(action.get("statusReason") or ""))
    return None


@dataclass
class FarmServer:
    address: str
    enabled: bool
    weight: int
    http_port: int
    https_port: int


@dataclass
class Farm:
    name: str
    enabled: bool
    servers: list[FarmServer]
    preserve_host_header: bool
    x_forwarded_for: str
    include_port_in_xff: bool
    arr_response_header: bool
    timeout: str
    keep_alive: bool = True
    use_cookie: bool = False
    cookie_name: str = "ARRAffinity"


def farm(engine: twin.ConfigEngine, name: str) -> Farm | None:
    for item in _items(read(engine, S.WEB_FARMS)):
        values = _values(item)
        if str(values.get("name", "")).lower() != name.lower():
            continue
        arr = _child(item, "applicationRequestRouting")
        protocol = _values(_child(arr, "protocol"))
        affinity = _values(_child(arr, "affinity"))
        servers = []
        for server in _items(item):
            s = _values(server)
            routing = _values(_child(server, "applicationRequestRouting"))
            servers.append(FarmServer(str(s.get("address")), bool(s.get("enabled", True)),
                                      int(routing.get("weight") or 100), int(routing.get("httpPort") or 80),
                                      int(routing.get("httpsPort") or 443)))
        return Farm(str(values.get("name")), bool(values.get("enabled", True)), servers,
                    bool(protocol.get("preserveHostHeader", True)),
                    str(protocol.get("xForwardedForHeaderName") or "X-Forwarded-For"),
                    bool(protocol.get("includePortInXForwardedFor", True)),
                    bool(protocol.get("arrResponseHeader", True)), str(protocol.get("timeout") or "00:00:30"),
                    bool(protocol.get("keepAlive", True)), bool(affinity.get("useCookie", False)),
                    str(affinity.get("cookieName") or "ARRAffinity"))
    return None


def proxy_enabled(engine: twin.ConfigEngine) -> bool:
    return bool(_values(read(engine, S.PROXY)).get("enabled", False))
