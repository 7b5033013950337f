# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""An IIS application pool: existence, identity, the settings farms need and its runtime state (pure planning).

``app_pool_targets(args)`` lists what one ``iis_config`` read must hold: the whole
``applicationPools`` section (with a host-side comparison of the password when it is managed),
the pool again with its runtime ``state``, the ``sites`` section (which applications use the
pool) and ``windowsAuthentication`` at every application's path (``each_application``), so the
kernel-mode warning needs no extra call. ``check_app_pool(args)`` validates the options without
any state; ``plan_app_pool(args, states)`` returns the ``Plan`` (configuration edits, then
``start``/``stop``/``recycle``) and ``app_pool_report(args, states)`` the result keys.

No I/O here.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import schema as S
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import sections
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import values as V
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Plan,
    PlanError,
    SecretCheck,
    SectionState,
    Target,
    plan_collection,
    plan_item,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import effective_providers
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.acceptor import (
    is_domain_identity,
    machine_decrypts,
)

IDENTITIES = ("ApplicationPoolIdentity", "NetworkService", "LocalService", "LocalSystem", "SpecificUser")
STATES = ("present", "absent", "started", "stopped", "restarted", "recycled")

APP_POOL_SPEC: dict[str, t.Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": list(STATES)},
    "identity": {"type": "str", "choices": list(IDENTITIES)},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "update_password": {"type": "str", "default": "always", "choices": ["always", "on_create"]},
    "load_user_profile": {"type": "bool"},
    "idle_timeout": {"type": "str"},
    "idle_timeout_action": {"type": "str", "choices": ["Terminate", "Suspend"]},
    "periodic_restart": {"type": "dict", "options": {
        "time": {"type": "str"},
        "requests": {"type": "int"},
        "memory": {"type": "int"},
        "private_memory": {"type": "int"},
        "schedule": {"type": "list", "elements": "str"},
    }},
    "managed_runtime_version": {"type": "str"},
    "managed_pipeline_mode": {"type": "str", "choices": ["Integrated", "Classic"]},
    "start_mode": {"type": "str", "choices": ["OnDemand", "AlwaysRunning"]},
    "auto_start": {"type": "bool"},
}

# option -> (element path below the pool, attribute)
_POOL_ATTRS = {
    "managed_runtime_version": ("", "managedRuntimeVersion"),
    "managed_pipeline_mode": ("", "managedPipelineMode"),
    "start_mode": ("", "startMode"),
    "auto_start": ("", "autoStart"),
    "load_user_profile": ("processModel", "loadUserProfile"),
    "idle_timeout": ("processModel", "idleTimeout"),
    "idle_timeout_action": ("processModel", "idleTimeoutAction"),
}
_RESTART_ATTRS = {"time": "time", "requests": "requests", "memory": "memory", "private_memory": "privateMemory"}
_SETTINGS = ("identity", "username", "password", "periodic_restart") + tuple(_POOL_ATTRS)
_RUNTIME_VERBS = {"start": "start", "stop": "stop", "recycle": "recycle"}


def is_gmsa(username: str | None) -> bool:
    """A group managed service account (``DOMAIN\\name$`` or ``name$``): Windows fetches its password itself."""
    return bool(username) and str(username).endswith("$")


def _pool_schema() -> S.Element:
    section = sections.get_section(S.APPLICATION_POOLS)
    if section is None or section.root.collection is None:
        raise PlanError("the collection has no schema for %s" % S.APPLICATION_POOLS)
    return section.root.collection.item


def _check_value(element: S.Element, attribute: str, option: str, value: t.Any) -> t.Any:
    attr = element.attr(attribute)
    if attr is None:
        raise PlanError("%s has no attribute %s" % (element.name, attribute))
    try:
        return V.normalize(attr, value)
    except S.SchemaValueError as exc:
        raise PlanError("%s=%r: %s" % (option, value, exc)) from None


def _minutes(value: t.Any) -> t.Any:
    """idle_timeout may be a whole number of minutes, as IIS Manager shows it."""
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.strip().isdigit():
        return V.format_timespan(int(value) * 60)
    return value


def check_app_pool(args: dict[str, t.Any]) -> None:
    """Validate the options before anything is read (PlanError names the option, the value and the fix)."""
    pool = _pool_schema()
    _check_value(pool, "name", "name", args["name"])
    if args.get("state") == "absent":
        given = [name for name in _SETTINGS if args.get(name) is not None]
        if given:
            raise PlanError("state=absent removes the pool; %s cannot be set with it. Fix: remove %s, or use "
                            "state=present" % (", ".join(given), ", ".join(given)))
        return
    identity = args.get("identity")
    username = args.get("username")
    password = args.get("password")
    if username is not None and identity not in (None, "SpecificUser"):
        raise PlanError("username=%r applies only to identity=SpecificUser, not identity=%s. Fix: set "
                        "identity=SpecificUser, or remove username" % (username, identity))
    if password is not None and identity not in (None, "SpecificUser"):
        raise PlanError("password applies only to identity=SpecificUser, not identity=%s. Fix: remove password"
                        % identity)
    if identity == "SpecificUser" and not username:
        raise PlanError("identity=SpecificUser needs username (DOMAIN\\user, user@domain.example, or a gMSA "
                        "DOMAIN\\name$). Fix: set username")
    if password is not None and username is None:
        raise PlanError("password is given without username. Fix: name the account the password belongs to")
    if username is not None:
        if username != username.strip() or not username.strip():
            raise PlanError("username=%r is empty or has leading or trailing white space. Fix: remove it" % username)
        if username.count("\\") > 1 or "/" in username or ("\\" in username and "@" in username):
            raise PlanError("username=%r is not an account name. Fix: use DOMAIN\\user, user@domain.example or a "
                            "gMSA DOMAIN\\name$" % username)
        if is_gmsa(username) and password is not None:
            raise PlanError("username=%r is a group managed service account (it ends with $): Windows retrieves its "
                            "password from the domain, so IIS stores none. Fix: remove password" % username)
    process_model = pool.child("processModel")
    for option in ("idle_timeout", "idle_timeout_action", "load_user_profile"):
        if args.get(option) is not None:
            value = _minutes(args[option]) if option == "idle_timeout" else args[option]
            _check_value(process_model, _POOL_ATTRS[option][1], option, value)
    for option in ("managed_runtime_version", "managed_pipeline_mode", "start_mode", "auto_start"):
        if args.get(option) is not None:
            _check_value(pool, _POOL_ATTRS[option][1], option, args[option])
    restart = args.get("periodic_restart") or {}
    periodic = pool.child("recycling").child("periodicRestart")  # type: ignore[union-attr]
    for option, attribute in _RESTART_ATTRS.items():
        if restart.get(option) is not None:
            _check_value(periodic, attribute, "periodic_restart.%s" % option, restart[option])
    if restart.get("schedule") is not None:
        times = [_check_value(periodic.child("schedule").collection.item, "value",  # type: ignore[union-attr]
                              "periodic_restart.schedule", value) for value in restart["schedule"]]
        if len(set(times)) != len(times):
            raise PlanError("periodic_restart.schedule lists a time twice (%s). Fix: list each time once"
                            % ", ".join(times))


def app_pool_targets(args: dict[str, t.Any]) -> list[Target]:
    """What one read must hold (see the module docstring)."""
    key = {"name": args["name"]}
    checks: tuple[SecretCheck, ...] = ()
    if args.get("password") is not None and args.get("update_password", "always") == "always":
        checks = (SecretCheck((key, "processModel"), "password", args["password"]),)
    return [
        Target(S.APPLICATION_POOLS, "", (), checks),
        Target(S.APPLICATION_POOLS, "", (key,), state=True),
        Target(S.SITES),
        Target(S.WINDOWS_AUTHENTICATION, "", each_application=True),
    ]


def _states(states: t.Sequence[SectionState]) -> tuple[SectionState, SectionState, SectionState, SectionState]:
    pools = next(s for s in states if s.section.path == S.APPLICATION_POOLS and not s.path)
    runtime = next(s for s in states if s.section.path == S.APPLICATION_POOLS and s.path)
    sites = next(s for s in states if s.section.path == S.SITES)
    windows = next(s for s in states if s.section.path == S.WINDOWS_AUTHENTICATION)
    return pools, runtime, sites, windows


def applications_of(sites: SectionState, pool: str) -> list[str]:
    """The location paths of the applications that run in this pool ("Site", "Site/app")."""
    found = []
    for site in sites.element.items:
        for app in site.items:
            if str(app.value("applicationPool") or "").lower() == pool.lower():
                path = str(app.value("path")).strip("/")
                found.append(str(site.value("name")) + ("/" + path if path else ""))
    return found


def _effective_identity(args: dict[str, t.Any], current: t.Any) -> tuple[str, str]:
    process_model = current.child("processModel") if current is not None else None
    identity = args.get("identity") or ("SpecificUser" if args.get("username") else None)
    if identity is None:
        identity = str(process_model.value("identityType")) if process_model is not None else "ApplicationPoolIdentity"
    if identity != "SpecificUser":
        return identity, ""
    username = args.get("username")
    if username is None and process_model is not None:
        username = str(process_model.value("userName") or "")
    return identity, username or ""


def plan_app_pool(args: dict[str, t.Any], states: t.Sequence[SectionState]) -> Plan:
    check_app_pool(args)
    pools, runtime, sites, windows = _states(states)
    name = args["name"]
    key = {"name": name}
    plan = Plan()
    current = pools.element.item(key)
    if args["state"] == "absent":
        plan_collection(plan, pools, [], [key], mode="absent", label="applicationPools")
        users = applications_of(sites, name)
        if current is not None and users:
            plan.warnings.append("application pool %s is removed while %s still use it: they answer 503 until they "
                                 "are moved to another pool" % (name, ", ".join(users)))
        return plan
    pool_name = str(current.value("name")) if current is not None else name
    process_model = current.child("processModel") if current is not None else None
    identity, username = _effective_identity(args, current)
    current_user = str(process_model.value("userName") or "") if process_model is not None else ""
    stored_password = process_model.has_secret("password") if process_model is not None else False
    user_changes = username.lower() != current_user.lower()

    args = dict(args, idle_timeout=_minutes(args.get("idle_timeout")))
    attributes = {attr: args.get(option) for option, (where, attr) in _POOL_ATTRS.items() if not where}
    model: dict[str, t.Any] = {attr: args.get(option) for option, (where, attr) in _POOL_ATTRS.items()
                               if where == "processModel"}
    if args.get("identity") is not None or args.get("username") is not None:
        model["identityType"] = identity
        model["userName"] = username
    password = args.get("password")
    set_password = None          # a password set without a host-side comparison (new pool, new user, on_create)
    clear_password = False
    managed = args.get("identity") is not None or args.get("username") is not None
    if identity == "SpecificUser" and not is_gmsa(username):
        if password is None:
            if managed and (current is None or user_changes or not stored_password):
                raise PlanError("password is required to run application pool %s as %s (the pool %s). Fix: give "
                                "password, or use a gMSA (DOMAIN\\name$)" % (
                                    name, username, "is new" if current is None else
                                    "has no password for that account" if not user_changes else
                                    "changes account from %s" % (current_user or "a built-in identity")))
        elif current is None:
            model["password"] = password                   # planned on the new item, shown as (secret, changed)
        elif args.get("update_password", "always") == "always":
            if user_changes:
                set_password = password
            else:
                model["password"] = password               # compared on the host
        elif user_changes:
            set_password = password
    elif stored_password and managed:
        clear_password = True                              # built-in identity or gMSA: no password to keep
    children: dict[str, dict[str, t.Any]] = {"processModel": model}
    restart = args.get("periodic_restart") or {}
    children["recycling/periodicRestart"] = {attr: restart.get(option) for option, attr in _RESTART_ATTRS.items()}
    plan_item(plan, pools, [], key, attributes, children)
    pm_path = [key, "processModel"]
    if set_password is not None or clear_password:
        heading = "%s @ server %s" % (S.APPLICATION_POOLS, "[name=%s]/processModel" % name)
        plan.show(heading, "password = (secret, %s)" % ("set" if stored_password else "not set"),
                  "password = (secret, %s)" % ("changed" if set_password is not None else "cleared"))
        plan.edit(pools, "set", pm_path, "%s password (secret)" % ("set" if set_password is not None else "clear"),
                  attribute="password", value=set_password if set_password is not None else "")
        plan.record(pools, pm_path, "secret", "password", {"set": stored_password},
                    {"set": set_password is not None, "changed": True})
    if restart.get("schedule") is not None:
        plan_collection(plan, pools, [key, "recycling", "periodicRestart", "schedule"],
                        [{"value": value} for value in restart["schedule"]], mode="exact", label="schedule")

    _plan_runtime(plan, pools, args, current, runtime.state, pool_name)
    _warn_kernel_mode(plan, sites, windows, pool_name, identity, username)
    return plan


def _plan_runtime(plan: Plan, pools: SectionState, args: dict[str, t.Any], current: t.Any, state: str | None,
                  name: str) -> None:
    wanted = args["state"]
    if wanted == "present":
        return
    created = current is None
    before = "(new)" if created else (state or "Unknown")
    ops: list[str] = []
    if wanted == "started":
        ops = ["start"] if created or state not in ("Started", "Starting") else []
    elif wanted == "stopped":
        ops = ["stop"] if created or state not in ("Stopped", "Stopping") else []
    elif wanted == "restarted":
        ops = ["start"] if created or state in ("Stopped", "Stopping") else ["stop", "start"]
    elif wanted == "recycled":
        ops = ["start"] if created or state != "Started" else ["recycle"]
    after = "Stopped" if wanted == "stopped" else "Started"
    heading = "application pool %s (runtime)" % name
    plan.show(heading, "state = %s" % before, "state = %s%s" % (after, " (%s)" % ", ".join(ops) if ops else ""))
    for op in ops:
        plan.edit(pools, op, [{"name": name}], "%s application pool %s" % (_RUNTIME_VERBS[op], name))
    if ops:
        plan.record(pools, [{"name": name}], "runtime", "state", {"state": None if created else state,
                                                                  "exists": not created}, {"state": after})


def _warn_kernel_mode(plan: Plan, sites: SectionState, windows: SectionState, pool: str, identity: str,
                      username: str) -> None:
    if not is_domain_identity(identity, username):
        return
    at = {state.location.lower(): state for state in windows.applications}
    risky = []
    for location in applications_of(sites, pool):
        state = at.get(location.lower())
        if state is None or not state.element.exists or not state.element.value("enabled"):
            continue
        if machine_decrypts(bool(state.element.value("useKernelMode")),
                            bool(state.element.value("useAppPoolCredentials")), effective_providers(state)):
            risky.append(location)
    if risky:
        plan.warnings.append(
            "application pool %s runs as %s, but Windows authentication at %s has useKernelMode=true and "
            "useAppPoolCredentials=false: HTTP.sys decrypts Kerberos tickets there with the computer account's "
            "keys, so tickets for an SPN registered on %s fail (401). Set useAppPoolCredentials=true with "
            "webfarm.winauth.web_auth (windows.use_app_pool_credentials), or turn kernel mode off."
            % (pool, username, ", ".join(risky), username))


def app_pool_report(args: dict[str, t.Any], states: t.Sequence[SectionState], plan: Plan) -> dict[str, t.Any]:
    """Result keys: the pool as found and as it will be (no secrets)."""
    pools, runtime, sites, _windows = _states(states)
    current = pools.element.item({"name": args["name"]})
    identity, username = _effective_identity(args, current)
    if args["state"] == "absent":
        return {"name": args["name"], "existed": current is not None, "exists": False,
                "applications": applications_of(sites, args["name"])}
    model = current.child("processModel") if current is not None else None
    identity_before = str(model.value("identityType")) if model is not None else None
    username_before = (str(model.value("userName") or "") or None) if identity_before == "SpecificUser" else None
    ops = [e["op"] for e in plan.edits if e["op"] in _RUNTIME_VERBS]
    runtime_after = runtime.state
    if ops:
        runtime_after = "Stopped" if ops[-1] == "stop" else "Started"
    elif current is None:
        runtime_after = None     # a new pool: WAS starts it when autoStart is true
    return {
        "name": str(current.value("name")) if current is not None else args["name"],
        "existed": current is not None,
        "exists": True,
        "runtime_state": runtime_after,
        "runtime_state_before": runtime.state,
        "identity": identity,
        "username": username if identity == "SpecificUser" else None,
        "applications": applications_of(sites, args["name"]),
        "identity_before": identity_before,
        "username_before": username_before,
        "password_changed": any(e["kind"] == "secret" and e["name"] == "password" for e in plan.journal),
    }
