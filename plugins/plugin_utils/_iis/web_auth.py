# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Windows and anonymous authentication of an IIS site or application, as reusable pure planning.

Used by ``webfarm.winauth.web_auth`` (content nodes: Windows authentication on) and by
``webfarm.winauth.arr_farm`` (the ARR front door: anonymous on, Windows authentication off), so
there is one implementation of the rules. The API is stable within the collection:

``web_auth_location(site, application) -> str``
    The IIS location path: ``"<site>"`` or ``"<site>/<app>"`` (application ``None``, ``""`` or
    ``"/"`` is the site's root).

``web_auth_targets(site, application, anonymous=None) -> list[Target]``
    What to read, in this order: ``system.applicationHost/sites`` (the whole section, to check the
    site and the application exist and to name the existing ones in errors),
    ``system.applicationHost/applicationPools`` (the pool serving the path, for the kernel-mode
    warning), then ``windowsAuthentication`` and ``anonymousAuthentication`` at the location, both with
    ``location_optional`` (a missing site reads as absent instead of failing the read). Pass the
    ``anonymous`` options when they may hold a password: the comparison with the stored one is then
    asked of the host in the same read. Append these targets to your own; ``plan_web_auth`` finds
    its states by section and location, not by position.

``check_web_auth(windows, anonymous, prefix="") -> None``
    Validates the options without any state (call it before the read, so bad input costs no
    remote call). Raises ``PlanError`` naming the option, the value and the fix. ``prefix`` is
    put before option names in messages (``"front_door."`` -> ``front_door.windows.providers``).

``plan_web_auth(plan, states, site, application, windows, anonymous, prefix="") -> None``
    Adds the edits and the attribute-level diff to ``plan`` (a ``_iis_config.Plan``); warnings go
    to ``plan.warnings`` (both or neither authentication enabled; a domain pool identity whose tickets
    HTTP.sys would decrypt with the computer account's keys). Raises ``PlanError`` when the site or the application does not exist
    (naming the ones that do) or when the options are invalid. ``windows`` and ``anonymous`` are
    dicts with the option names of the ``windows`` / ``anonymous`` suboptions below (keys may be
    missing or None: not managed); either may be None.

``WINDOWS_AUTH_OPTIONS`` / ``ANONYMOUS_AUTH_OPTIONS``
    The suboptions (argument spec) of ``windows`` and ``anonymous``; ``WINDOWS_AUTH_SPEC`` and
    ``ANONYMOUS_AUTH_SPEC`` are the ready ``{"type": "dict", "options": ...}`` entries. Treat them
    as read-only (``copy.deepcopy`` before changing them).

Windows options: ``enabled``, ``use_app_pool_credentials``, ``use_kernel_mode``, ``providers``
(exact ordered list from ``Negotiate``, ``NTLM``, ``Negotiate:Kerberos``; ``[NTLM]`` is NTLM-only
mode), ``auth_persist_single_request``, ``auth_persist_non_ntlm``, ``extended_protection``
(``token_checking`` None/Allow/Require, ``flags`` list, ``spns`` exact list).
Anonymous options: ``enabled``, ``username`` (``""``: the application pool identity; ``IUSR``;
or a specific account, which needs ``password``), ``password`` (no_log; compared on the host).

No I/O here.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import schema as S
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import values as V
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Element,
    Plan,
    PlanError,
    SecretCheck,
    SectionState,
    Target,
    plan_attributes,
    plan_collection,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.acceptor import (
    connection_identity_risk,
    is_domain_identity,
    machine_decrypts,
)

PROVIDERS = ("Negotiate", "NTLM", "Negotiate:Kerberos")
TOKEN_CHECKING = ("None", "Allow", "Require")
EP_FLAGS = ("Proxy", "NoServiceNameCheck", "AllowDotlessSpn", "ProxyCohosting")
POOL_IDENTITY_USER = ""            # anonymous requests run as the application pool identity
IUSR = "IUSR"

EXTENDED_PROTECTION_OPTIONS: dict[str, t.Any] = {
    "token_checking": {"type": "str", "choices": list(TOKEN_CHECKING)},
    "flags": {"type": "list", "elements": "str", "choices": list(EP_FLAGS)},
    "spns": {"type": "list", "elements": "str"},
}

WINDOWS_AUTH_OPTIONS: dict[str, t.Any] = {
    "enabled": {"type": "bool"},
    "use_app_pool_credentials": {"type": "bool"},
    "use_kernel_mode": {"type": "bool"},
    "providers": {"type": "list", "elements": "str"},
    "auth_persist_single_request": {"type": "bool"},
    "auth_persist_non_ntlm": {"type": "bool"},
    "extended_protection": {"type": "dict", "options": EXTENDED_PROTECTION_OPTIONS},
}

ANONYMOUS_AUTH_OPTIONS: dict[str, t.Any] = {
    "enabled": {"type": "bool"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
}

WINDOWS_AUTH_SPEC: dict[str, t.Any] = {"type": "dict", "options": WINDOWS_AUTH_OPTIONS}
ANONYMOUS_AUTH_SPEC: dict[str, t.Any] = {"type": "dict", "options": ANONYMOUS_AUTH_OPTIONS}

# option name -> schema attribute name
_WINDOWS_ATTRS = {
    "enabled": "enabled",
    "use_app_pool_credentials": "useAppPoolCredentials",
    "use_kernel_mode": "useKernelMode",
    "auth_persist_single_request": "authPersistSingleRequest",
    "auth_persist_non_ntlm": "authPersistNonNTLM",
}


def check_location(site: str | None, application: str | None) -> None:
    """The site and application as IIS's siteName and applicationPath validators take them, before any read."""
    if not (site or "").strip():
        raise PlanError("site=%r is empty. Fix: give the IIS site's name, such as Default Web Site" % (site,))
    if set(site or "") & set("/?") or any(ord(ch) < 0x20 for ch in site or ""):
        raise PlanError("site=%r holds a character IIS refuses in site names (/, ? or a control character). Fix: "
                        "give the site's name as IIS Manager shows it; an application goes in application" % (site,))
    if application is not None:
        segments = application.strip().replace("\\", "/").strip("/").split("/")
        if any(seg in (".", "..") for seg in segments) or "?" in application or any(
                ord(ch) < 0x20 for ch in application):
            raise PlanError("application=%r is not an application path (no . or .. segment, no ? or control "
                            "character). Fix: give the path as IIS shows it, such as /app or /app/sub" % (application,))


def web_auth_location(site: str, application: str | None) -> str:
    """The IIS location path of a site or one of its applications."""
    site = (site or "").strip()
    app = normalize_application(application)
    return site if app == "/" else site + app


def normalize_application(application: str | None) -> str:
    """An application path as IIS writes it: "/" for the root, "/app" or "/app/sub" otherwise."""
    if application is None:
        return "/"
    path = application.strip().replace("\\", "/").strip("/")
    return "/" + path if path else "/"


def web_auth_targets(site: str, application: str | None, anonymous: dict[str, t.Any] | None = None) -> list[Target]:
    """The targets to read for plan_web_auth (see the module docstring)."""
    location = web_auth_location(site, application)
    password = (anonymous or {}).get("password")
    secrets: tuple[SecretCheck, ...] = ((SecretCheck((), "password", password),) if password is not None else ())
    return [
        Target(S.SITES),
        Target(S.APPLICATION_POOLS),
        Target(S.WINDOWS_AUTHENTICATION, location, location_optional=True),
        Target(S.ANONYMOUS_AUTHENTICATION, location, secrets=secrets, location_optional=True),
    ]


def canonical_providers(providers: t.Sequence[str], option: str = "windows.providers") -> list[str]:
    """The providers in IIS's spelling, in order; PlanError for an unknown or repeated one."""
    result: list[str] = []
    for given in providers:
        name = next((p for p in PROVIDERS if p.lower() == str(given).strip().lower()), None)
        if name is None:
            hint = ""
            if str(given).strip().lower() in ("kerberos", "negotiate-kerberos", "negotiate: kerberos"):
                hint = " (Kerberos only is spelled Negotiate:Kerberos)"
            raise PlanError("%s: %r is not a Windows authentication provider%s. Fix: use providers from %s, "
                            "in order of preference; [NTLM] alone is NTLM-only mode"
                            % (option, given, hint, ", ".join(PROVIDERS)))
        if name in result:
            raise PlanError("%s: %s is listed twice. Fix: list each provider once" % (option, name))
        result.append(name)
    if not result:
        raise PlanError("%s is empty: Windows authentication would offer no package. Fix: list at least one "
                        "of %s (or leave providers out to keep the current ones)" % (option, ", ".join(PROVIDERS)))
    return result


def check_web_auth(windows: dict[str, t.Any] | None, anonymous: dict[str, t.Any] | None, prefix: str = "") -> None:
    """Validate the windows / anonymous options before anything is read (PlanError names the fix)."""
    windows = windows or {}
    anonymous = anonymous or {}
    if windows.get("providers") is not None:
        canonical_providers(windows["providers"], prefix + "windows.providers")
    protection = windows.get("extended_protection") or {}
    flags = [str(f) for f in protection.get("flags") or []]
    if "ProxyCohosting" in flags and "Proxy" not in flags:
        raise PlanError("%swindows.extended_protection.flags: ProxyCohosting needs Proxy too (IIS refuses it alone). "
                        "Fix: add Proxy" % prefix)
    if protection.get("spns") is not None:
        seen: set[str] = set()
        for spn in protection["spns"]:
            if not str(spn).strip() or "/" not in str(spn):
                raise PlanError("%swindows.extended_protection.spns: %r is not a service principal name. Fix: use "
                                "the form HTTP/host.example.com" % (prefix, spn))
            if str(spn).lower() in seen:
                raise PlanError("%swindows.extended_protection.spns: %s is listed twice. Fix: list each SPN once"
                                % (prefix, spn))
            seen.add(str(spn).lower())
    username = anonymous.get("username")
    password = anonymous.get("password")
    if username is not None and username != username.strip():
        raise PlanError("%sanonymous.username %r has leading or trailing white space. Fix: remove it" % (prefix, username))
    if password is not None:
        if username is None:
            raise PlanError("%sanonymous.password is given without anonymous.username. Fix: name the account the "
                            "password belongs to" % prefix)
        if username.upper() in (POOL_IDENTITY_USER, IUSR):
            raise PlanError("%sanonymous.password applies only to a specific account, not to %s. Fix: remove the "
                            "password (IUSR and the pool identity have none)"
                            % (prefix, "the pool identity ('')" if username == POOL_IDENTITY_USER else IUSR))
    if username and username.upper() != IUSR and username.endswith("$"):
        raise PlanError("%sanonymous.username %r looks like a managed service account: IIS cannot run anonymous "
                        "requests as a gMSA. Fix: use '' (the application pool identity, which may be the gMSA)"
                        % (prefix, username))


def _find(states: t.Sequence[SectionState], section: str, location: str) -> SectionState:
    for state in states:
        if state.section.path.lower() == section.lower() and state.location.lower() == location.lower():
            return state
    raise PlanError("no state was read for %s at %r; read web_auth_targets() first" % (section, location))


def _site_and_application(states: t.Sequence[SectionState], site: str, application: str | None,
                          prefix: str) -> tuple[str, str]:
    """The site's name as IIS spells it and the application path; PlanError naming the ones that exist."""
    sites = _find(states, S.SITES, "")
    names = [str(item.value("name")) for item in sites.element.items]
    found = sites.element.item({"name": site}) if sites.element.exists else None
    if found is None:
        raise PlanError("%ssite: no site named %r on this host (sites: %s). Fix: create the site first, or "
                        "correct the name" % (prefix, site, ", ".join(names) or "none"))
    app = normalize_application(application)
    paths = [str(item.value("path")) for item in found.items]
    if app != "/" and not any(p.lower() == app.lower() for p in paths):
        raise PlanError("%sapplication: site %r has no application %s (applications: %s). Fix: create the "
                        "application first, or give its path" % (prefix, found.value("name"), app, ", ".join(paths)))
    return str(found.value("name")), app


def _application_pool(states: t.Sequence[SectionState], site: str, app: str) -> Element | None:
    """The application pool (as read) that serves the application at this path, if known."""
    pools = next((s for s in states if s.section.path == S.APPLICATION_POOLS and s.location == ""), None)
    sites = _find(states, S.SITES, "")
    site_item = sites.element.item({"name": site})
    if pools is None or site_item is None:
        return None
    apps = sorted(site_item.items, key=lambda a: len(str(a.value("path"))), reverse=True)
    for item in apps:     # the deepest application containing the path
        path = str(item.value("path")).rstrip("/").lower()
        if app.lower() == path or app.lower().startswith(path + "/") or path == "":
            name = item.value("applicationPool")
            return pools.element.item({"name": name}) if name else None
    return None


def plan_web_auth(plan: Plan, states: t.Sequence[SectionState], site: str, application: str | None,
                  windows: dict[str, t.Any] | None, anonymous: dict[str, t.Any] | None, prefix: str = "",
                  behind_proxy: bool = False) -> None:
    """Plan the windows / anonymous authentication of a site or application (see the module docstring).

    ``behind_proxy``: the site is reached through a reverse proxy that shares its back-end connections
    between clients (ARR); the plan then warns when an authentication would outlive its request.
    """
    check_web_auth(windows, anonymous, prefix)
    windows = windows or {}
    anonymous = anonymous or {}
    site_name, app = _site_and_application(states, site, application, prefix)
    location = web_auth_location(site, application)
    win = _find(states, S.WINDOWS_AUTHENTICATION, location)
    anon = _find(states, S.ANONYMOUS_AUTHENTICATION, location)
    if not win.location_found or not anon.location_found:
        raise PlanError("%ssite: no site named %r on this host. Fix: create the site first" % (prefix, site))
    pool = _application_pool(states, site_name, app)

    plan_attributes(plan, win, [], {attr: windows.get(option) for option, attr in _WINDOWS_ATTRS.items()},
                    label=prefix + "windows")
    if windows.get("providers") is not None:
        providers = canonical_providers(windows["providers"], prefix + "windows.providers")
        plan_collection(plan, win, ["providers"], [{"value": p} for p in providers], mode="exact", label="providers")
    protection = windows.get("extended_protection") or {}
    flags = protection.get("flags")
    plan_attributes(plan, win, ["extendedProtection"], {
        "tokenChecking": protection.get("token_checking"),
        "flags": (", ".join(flags) if flags else "None") if flags is not None else None,
    }, label=prefix + "windows.extended_protection")
    if protection.get("spns") is not None:
        plan_collection(plan, win, ["extendedProtection"], [{"name": s} for s in protection["spns"]], mode="exact",
                        label="extendedProtection spns")

    username = anonymous.get("username")
    password = anonymous.get("password")
    anon_element = anon.element
    desired_anon: dict[str, t.Any] = {"enabled": anonymous.get("enabled"), "userName": username}
    if username is not None and username.upper() not in (POOL_IDENTITY_USER, IUSR):
        changing_user = not V.values_equal(anon.section.root.attr("userName"), anon_element.value("userName"), username)
        if password is None and (changing_user or not anon_element.has_secret("password")):
            raise PlanError("%sanonymous.password is required to run anonymous requests as %r. Fix: give the "
                            "account's password, or use '' (the application pool identity)" % (prefix, username))
    plan_attributes(plan, anon, [], desired_anon, label=prefix + "anonymous")
    if password is not None:
        plan_attributes(plan, anon, [], {"password": password}, label=prefix + "anonymous")
    elif username is not None and username.upper() in (POOL_IDENTITY_USER, IUSR) and anon_element.has_secret("password"):
        # A password left from a specific account would linger encrypted in the file: IIS Manager clears it too.
        plan.show(_heading(anon), "password = (secret, set)", "password = (secret, cleared)")
        plan.edit(anon, "set", [], "clear password (secret)", attribute="password", value="")
        plan.record(anon, [], "secret", "password", {"set": True}, {"set": False, "changed": True})

    _warn(plan, win, anon, pool, windows, anonymous, win.location or location, prefix)
    if behind_proxy and bool(_effective(win, windows, "enabled", "enabled")):
        risk = connection_identity_risk(
            effective_providers(win, windows),
            bool(_effective(win, windows, "auth_persist_single_request", "authPersistSingleRequest")),
            bool(_effective(win, windows, "auth_persist_non_ntlm", "authPersistNonNTLM")))
        if risk:
            plan.warnings.append(shared_connection_warning(win.location or location, risk, prefix))


def _heading(state: SectionState) -> str:
    return "%s @ %s" % (state.section.path, state.location or "server")


def _effective(state: SectionState, option: dict[str, t.Any], key: str, attr: str) -> t.Any:
    value = option.get(key)
    return state.element.value(attr) if value is None else value


def effective_providers(state: SectionState, windows: dict[str, t.Any] | None = None) -> list[str]:
    """The providers in effect after the plan (the desired ones, or those read)."""
    if windows and windows.get("providers") is not None:
        return canonical_providers(windows["providers"])
    return [str(item.value("value")) for item in state.element.child("providers").items]


def _warn(plan: Plan, win: SectionState, anon: SectionState, pool: Element | None, windows: dict[str, t.Any],
          anonymous: dict[str, t.Any], location: str, prefix: str) -> None:
    win_on = bool(_effective(win, windows, "enabled", "enabled"))
    anon_on = bool(_effective(anon, anonymous, "enabled", "enabled"))
    if win_on and anon_on:
        plan.warnings.append(
            "%s: both anonymous and Windows authentication are enabled; IIS serves every request anonymously and "
            "challenges for Windows credentials only where authorization refuses the anonymous user. Set "
            "%sanonymous.enabled=false to require Windows authentication." % (location, prefix))
    elif not win_on and not anon_on:
        plan.warnings.append("%s: neither anonymous nor Windows authentication is enabled; IIS answers every "
                             "request with 401.2 unless another authentication module is on." % location)
    if win_on and pool is not None:
        providers = effective_providers(win, windows)
        kernel = bool(_effective(win, windows, "use_kernel_mode", "useKernelMode"))
        pool_creds = bool(_effective(win, windows, "use_app_pool_credentials", "useAppPoolCredentials"))
        process_model = pool.child("processModel")
        identity = str(process_model.value("identityType"))
        user = str(process_model.value("userName") or "")
        if machine_decrypts(kernel, pool_creds, providers) and is_domain_identity(identity, user):
            plan.warnings.append(kernel_mode_warning(location, str(pool.value("name")), user, prefix))


def kernel_mode_warning(location: str, pool: str, user: str, prefix: str = "") -> str:
    return ("%s runs in application pool %s as %s, but Windows authentication there has useKernelMode=true and "
            "useAppPoolCredentials=false: HTTP.sys decrypts Kerberos tickets with the computer account's keys, so "
            "tickets for an SPN registered on %s fail (401). Set %swindows.use_app_pool_credentials=true (or "
            "use_kernel_mode=false)." % (location, pool, user, user, prefix))


def shared_connection_warning(location: str, risk: str, prefix: str = "") -> str:
    return ("%s is reached through a proxy that shares its back-end connections between clients (ARR), and IIS keeps "
            "an authentication for the whole connection there: %s. A request of another client that the proxy sends "
            "on that connection is served as the user who authenticated it, without credentials of its own. Set "
            "%swindows.auth_persist_single_request=true (IIS then authenticates every request)."
            % (location, risk, prefix))
