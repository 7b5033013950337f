# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback webfarm.winauth.change_plan: the change plan of a --check run, the change record of a real run."""

from __future__ import annotations

DOCUMENTATION = r"""
name: change_plan
type: aggregate
short_description: Write a change plan (--check) or a change record (real run) of the collection's tasks
version_added: 0.1.0
description:
  - Collects the results of every task of the C(webfarm.winauth) collection in a playbook run (its modules, its
    action plugins and the tasks of its roles) and writes one document per run, as Markdown for people, JSON for
    tools and a self-contained HTML page (no external asset, no script) that reads well in a browser and prints well.
  - A C(--check) run writes the B(plan) C(<name>.plan.*), which shows what would change in Active Directory
    (SPNs registered, moved from whom, removed; delegation; the GPO, its rights and links, scope warnings), then
    the nodes, grouped so that nodes with identical changes appear once with their names, each change as
    before -> after in IIS words,
    then the risks the collection knows about each change, then what was read and found already right, the
    warnings, and the message of a task that stopped the run (the roles' hostname-trap refusal, for example).
  - A real run writes the B(record) C(<name>.record.*) with the same sections for what was changed, the roles' per-node
    change records, and its link to the plan (read from O(plan)), which says whether the inputs were the same (by a
    fingerprint) and whether the run did what the plan said. Every difference (a task that changed though the plan
    said it would not, or the other way round, or with other edits) is flagged.
  - The inputs fingerprint is a SHA-256 over the playbooks' contents, the hosts the plays targeted, C(--limit),
    C(--tags), C(--skip-tags) and the extra vars, whose values count unless their name looks like a secret (see
    O(secret_patterns)) or they came from a vault; those count by name only.
  - Secrets never appear. Only a fixed list of result keys of each module is read (never C(invocation)), no_log
    results are shown as hidden, and the values of secret extra vars are masked wherever they would appear.
  - Before-values need C(--diff); without it the plan shows the new values only, and says so.
  - Writes nothing for a run without a task of the collection, nor for ad-hoc commands.
  - See the collection's docs/change-plan.md.
requirements:
  - Enable it with C(callbacks_enabled = webfarm.winauth.change_plan) in the C([defaults]) section of
    C(ansible.cfg), or C(ANSIBLE_CALLBACKS_ENABLED=webfarm.winauth.change_plan).
options:
  output_dir:
    description:
      - The directory the plan and record are written to (created when missing).
      - As a variable, only extra vars (C(-e)) are read.
    type: path
    default: change-plans
    ini:
      - section: callback_change_plan
        key: output_dir
    env:
      - name: WEBFARM_WINAUTH_CHANGE_PLAN_DIR
    vars:
      - name: webfarm_winauth_change_plan_dir
  name:
    description:
      - The file name stem, for example a change ticket C(CHG0042). The files are C(<name>.plan.md),
        C(<name>.plan.json), C(<name>.plan.html) and the same with C(record).
      - Default the first playbook's file name without its extension (C(lb_farm) for C(lb_farm.yml)).
      - As a variable, only extra vars (C(-e)) are read.
    type: str
    ini:
      - section: callback_change_plan
        key: name
    env:
      - name: WEBFARM_WINAUTH_CHANGE_PLAN_NAME
    vars:
      - name: webfarm_winauth_change_plan_name
  formats:
    description: The formats written.
    type: list
    elements: str
    choices: [markdown, json, html]
    default: [markdown, json, html]
    ini:
      - section: callback_change_plan
        key: formats
    env:
      - name: WEBFARM_WINAUTH_CHANGE_PLAN_FORMATS
  plan:
    description:
      - The plan (its JSON file) that a real run's record is compared with.
      - Default C(<output_dir>/<name>.plan.json), the plan the same settings wrote.
    type: path
    ini:
      - section: callback_change_plan
        key: plan
    env:
      - name: WEBFARM_WINAUTH_CHANGE_PLAN_FILE
    vars:
      - name: webfarm_winauth_change_plan_file
  note:
    description: A line shown at the top of the plan and the record (the change ticket, the window, the approver).
    type: str
    ini:
      - section: callback_change_plan
        key: note
    env:
      - name: WEBFARM_WINAUTH_CHANGE_PLAN_NOTE
    vars:
      - name: webfarm_winauth_change_plan_note
  secret_patterns:
    description:
      - Parts of extra-var names (case-insensitive) whose values are secret. Their values are masked wherever they
        would appear and count in the fingerprint by name only.
      - The default is wide on purpose (C(pass) covers C(password) and C(passwd), C(pw) covers C(pwd)). An extra var
        whose name matches none of them is shown and fingerprinted with its value, so name secrets accordingly, or
        pass them from a vault, whose values are always treated as secret.
    type: list
    elements: str
    default: [pass, pw, secret, token, key, credential, vault]
    ini:
      - section: callback_change_plan
        key: secret_patterns
    env:
      - name: WEBFARM_WINAUTH_CHANGE_PLAN_SECRET_PATTERNS
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callbacks_enabled = webfarm.winauth.change_plan
# [callback_change_plan]
# output_dir = change-plans

# The plan for the change board, then the change and its record:
#   WEBFARM_WINAUTH_CHANGE_PLAN_NAME=CHG0042 ansible-playbook -i inventory.yml webfarm.winauth.lb_farm --check --diff
#   WEBFARM_WINAUTH_CHANGE_PLAN_NAME=CHG0042 ansible-playbook -i inventory.yml webfarm.winauth.lb_farm --diff
# change-plans/CHG0042.plan.{md,json,html}, then change-plans/CHG0042.record.{md,json,html}
"""

import hashlib
import json
import os
import time
import typing as t

from ansible import constants as C
from ansible import context
from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ansible_version

from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import document, html, markdown
from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan.results import (
    Observation,
    is_ours,
    keep,
    scrub,
    secret_name,
    secret_values,
    status_of,
)

_EXTENSIONS = {"markdown": "md", "json": "json", "html": "html"}


def _vaulted(value: t.Any) -> bool:
    """Whether a value came from a vault (ansible-core 2.19 tags it; older versions use a class)."""
    try:
        from ansible.parsing.vault import VaultHelper  # pylint: disable=import-outside-toplevel
        if VaultHelper.get_ciphertext(value, with_tags=False) is not None:
            return True
    except (ImportError, AttributeError):
        pass
    return type(value).__name__ in ("AnsibleVaultEncryptedUnicode", "EncryptedString")


def _collection_version() -> str:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as handle:
            return str(json.load(handle)["collection_info"]["version"])
    except (OSError, ValueError, KeyError):
        pass
    try:
        with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("version:"):
                    return line.split(":", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    return "unknown"


def _sha256(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return "unreadable"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "webfarm.winauth.change_plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: t.Any = None) -> None:
        super().__init__(display=display)
        self._playbooks: list[dict[str, str]] = []
        self._hosts: list[str] = []
        self._extra_vars: dict[str, t.Any] = {}
        self._secrets: list[str] = []
        self._secret_keys: list[str] = []
        self._observations: list[Observation] = []
        self._options_read = False

    # --- what the run is -------------------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        path = str(getattr(playbook, "_file_name", "") or "")
        self._playbooks.append({"name": os.path.basename(path), "sha256": _sha256(path)})

    def v2_playbook_on_play_start(self, play: t.Any) -> None:
        manager = play.get_variable_manager()
        if not self._options_read:
            extra = dict(getattr(manager, "extra_vars", {}) or {})
            self._extra_vars = extra
            self.set_options(var_options=extra)
            patterns = self.get_option("secret_patterns") or []
            secret = {k: v for k, v in extra.items() if secret_name(str(k), patterns) or _vaulted(v)}
            self._secret_keys = list(secret)
            self._secrets = secret_values(secret.values())
            self._options_read = True
        inventory = getattr(manager, "_inventory", None)
        if inventory is not None:
            for host in inventory.get_hosts(play.hosts):
                if host.name not in self._hosts:
                    self._hosts.append(host.name)

    # --- the results -------------------------------------------------------------------------------------

    def _observe(self, kind: str, result: t.Any) -> None:
        task = result._task  # pylint: disable=protected-access
        role = task._role.get_name() if getattr(task, "_role", None) else ""  # pylint: disable=protected-access
        action = str(getattr(task, "resolved_action", None) or task.action or "")
        if not is_ours(action, role):
            return
        raw = dict(result._result)  # pylint: disable=protected-access
        warnings = [getattr(getattr(w, "event", None), "msg", None) or str(w)
                    for w in (getattr(result, "warnings", None) or raw.get("warnings") or [])]
        raw["warnings"] = warnings
        name = str(getattr(result, "task_name", "") or task.get_name(include_role_fqcn=False))
        if " : " in name:
            name = name.split(" : ", 1)[1]
        items = raw.get("results") if isinstance(raw.get("results"), list) else [raw]
        for item in items:
            if not isinstance(item, dict):
                continue
            item = dict(item, warnings=item.get("warnings", warnings))
            self._observations.append(Observation(
                host=result._host.get_name(), task=name, action=action, role=role,  # pylint: disable=protected-access
                status=status_of(kind, item), handler=isinstance(task, Handler),
                delegated=bool(item.get("_ansible_delegated_vars") or task.delegate_to), once=bool(task.run_once),
                result=keep(action, item, self._secrets)))

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._observe("ok", result)

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        del ignore_errors   # an ignored failure is still a failure in the plan
        self._observe("failed", result)

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._observe("unreachable", result)

    # --- the documents -----------------------------------------------------------------------------------

    def _inputs(self) -> dict[str, t.Any]:
        args = context.CLIARGS
        inputs = {
            "playbooks": self._playbooks,
            "hosts": document.sort_hosts(self._hosts),
            "limit": args.get("subset") or "",
            "tags": sorted(t for t in (args.get("tags") or ()) if t != "all"),
            "skip_tags": sorted(args.get("skip_tags") or ()),
            "extra_vars": scrub(document.masked_extra_vars(
                {str(k): v for k, v in self._extra_vars.items()}, self.get_option("secret_patterns") or [],
                self._secret_keys), self._secrets),
            "collection_version": _collection_version(),
        }
        inputs = json.loads(json.dumps(inputs, default=str))
        inputs["fingerprint"] = document.fingerprint(inputs)
        return inputs

    def _name(self) -> str:
        name = self.get_option("name")
        if name:
            return str(name)
        first = self._playbooks[0]["name"] if self._playbooks else "run"
        return os.path.splitext(first)[0] or "run"

    def _write(self, directory: str, stem: str, doc: dict[str, t.Any]) -> list[str]:
        os.makedirs(directory, exist_ok=True)
        written = []
        renderers = {"markdown": markdown.render, "html": html.render,
                     "json": lambda d: json.dumps(d, indent=1, ensure_ascii=False) + "\n"}
        for fmt in self.get_option("formats") or []:
            path = os.path.join(directory, "%s.%s" % (stem, _EXTENSIONS[fmt]))
            text = str(scrub(renderers[fmt](doc), self._secrets))
            partial = path + ".partial"
            with open(partial, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(partial, path)
            written.append(path)
        return written

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        del stats
        if not self._observations:
            return
        check = bool(context.CLIARGS.get("check"))
        kind = "plan" if check else "record"
        inputs = self._inputs()
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        name = self._name()
        meta = {"id": "%s-%s-%s" % (kind, created.replace("-", "").replace(":", ""), inputs["fingerprint"][7:15]),
                "name": name, "created": created, "note": self.get_option("note") or "",
                "mode": {"check": check, "diff": bool(context.CLIARGS.get("diff"))},
                "ansible_version": ansible_version, "collection_version": inputs["collection_version"],
                "inputs": inputs}
        doc = document.build(kind, self._observations, meta)
        directory = os.path.expanduser(str(self.get_option("output_dir")))
        if kind == "record":
            plan_path = self.get_option("plan") or os.path.join(directory, "%s.plan.json" % name)
            plan, digest = None, ""
            try:
                with open(plan_path, "rb") as handle:
                    raw = handle.read()
                plan, digest = json.loads(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()
            except (OSError, ValueError) as exc:
                self._display.vv("webfarm.winauth.change_plan: no plan read from %s: %s" % (plan_path, exc))
            doc["link"] = document.link(plan, doc, os.path.basename(plan_path), digest)
        doc = scrub(doc, self._secrets)
        written = self._write(directory, "%s.%s" % (name, kind), doc)
        flag = ""
        if kind == "record":
            link = doc["link"]
            flag = (" - did what the plan said" if link["as_planned"] else " - NOT as planned: %d difference(s)%s"
                    % (len(link["differences"]), "" if link["same_inputs"] else ", other inputs") if link["found"]
                    else " - no plan found")
        self._display.display("webfarm.winauth.change_plan: %s written: %s%s" % (kind, ", ".join(written), flag),
                              color=C.COLOR_VERBOSE if not flag.startswith(" - NOT") else C.COLOR_WARN)
