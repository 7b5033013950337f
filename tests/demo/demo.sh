#!/usr/bin/env bash
# `make demo` (PATTERN=lb|arr|both, default both): the farm playbooks against the lab. For each
# pattern: the plan (--check --diff, nothing written), the change, the same run again (it must
# change nothing), then a verification by independent means (playbooks/lab_verify.yml).
# At the end the lab is put back as the demo found it (its SPNs and GPO removed, the web nodes'
# files restored), unless DEMO_KEEP=1. Expects the lab's environment (eval "$(make -s lab-env)").
# The plan and the change also write a change plan and a change record (docs/change-plan.md) under
# build/demo/change-plans/; the demo fails when a record says the change did not do what its plan said.
# Every step either succeeds or says what failed: no `a && b` as the last statement of a function or
# loop (under set -e a false test there ends the script without a word), and an ERR trap names the
# command that stopped the demo.
set -Eeuo pipefail
trap 'rc=$?; printf "\ndemo: failed (exit %s) at tests/demo/demo.sh line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/../.."
pattern=${1:-both}
case "$pattern" in lb|arr|both) ;; *) echo "PATTERN must be lb, arr or both (got $pattern)" >&2; exit 2;; esac
: "${LAB_INVENTORY:?run eval \"\$(make -s lab-env)\" first (make demo does)}"
export ANSIBLE_COLLECTIONS_PATH="$PWD/build/collections" ANSIBLE_DEPRECATION_WARNINGS=False
export ANSIBLE_RETRY_FILES_ENABLED=False
saved="$PWD/build/demo/saved"
# shellcheck source=tests/demo/node_files.sh
source tests/demo/node_files.sh

say() { printf '\n\033[1m==== %s\033[0m\n' "$*"; }
play() { ansible-playbook -i "$LAB_INVENTORY" "$@"; }
# The plan (--check) and the change write a change plan and a change record (the collection's callback
# webfarm.winauth.change_plan) under build/demo/change-plans/, named after the pattern: $1 = the name.
plans="$PWD/build/demo/change-plans"
lab_note="make demo on the lab: Active Directory, Kerberos and WinRM are real; IIS's configuration engine is simulated."
planned() {
  local name=$1; shift
  ANSIBLE_CALLBACKS_ENABLED=webfarm.winauth.change_plan WEBFARM_WINAUTH_CHANGE_PLAN_DIR="$plans" \
    WEBFARM_WINAUTH_CHANGE_PLAN_NAME="$name" WEBFARM_WINAUTH_CHANGE_PLAN_NOTE="$lab_note" play "$@"
}
as_planned() {  # the record of $1 must say that the change did what its plan said
  if ! python - "$plans/$1.record.json" <<'PY'
import json, sys
link = json.load(open(sys.argv[1], encoding="utf-8"))["link"]
for d in link["differences"]:
    print("  %s | %s: %s (plan: %s; real run: %s)" % (d["host"], d["task"], d["text"], d["planned"], d["done"]))
sys.exit(0 if link["as_planned"] else 1)
PY
  then
    echo "the change did not do what its plan said (see $plans/$1.record.md)" >&2; return 1
  fi
  echo "change plan:   $plans/$1.plan.html (.md, .json)"
  echo "change record: $plans/$1.record.html (.md, .json) - the change did what the plan said"
}

restore() {
  if [ "${DEMO_KEEP:-0}" = 1 ]; then
    say "DEMO_KEEP=1: the farms stay configured on the lab (make lab-reset returns it to its seeded state)"
    return
  fi
  say "Putting the lab back as the demo found it (DEMO_KEEP=1 keeps the farms)"
  local out
  if out=$(play tests/demo/cleanup.yml 2>&1); then
    echo "directory: the demo's SPNs and GPO removed"
  else
    echo "$out"; echo "demo: the directory clean-up (tests/demo/cleanup.yml) failed; make lab-reset restores the lab" >&2
    return 1
  fi
  restore_nodes
  echo "web nodes: applicationHost.config, runtime state and applied policy restored"
}

idempotent() {  # the third run: every host must report changed=0
  local out; out=$(play playbooks/lab_demo.yml "$@" 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  if grep -E '^[A-Za-z0-9_.-]+ +: ok=' <<<"$out" | grep -vq 'changed=0'; then
    echo "the second run changed something: not idempotent" >&2; return 1
  fi
  say "zero changes: the second run found everything as it should be"
}

farm() {  # $1 = lb | arr
  local name; name=$([ "$1" = lb ] && echo "L4 farm (seed 001)" || echo "ARR farm (seed 000)")
  say "$name: the plan - ansible-playbook --check --diff (reads everything, writes nothing)"
  planned "$1" playbooks/lab_demo.yml -e "demo_pattern=$1" --check --diff
  say "$name: the change"
  planned "$1" playbooks/lab_demo.yml -e "demo_pattern=$1" --diff
  as_planned "$1"
  say "$name: the same playbook again"
  idempotent -e "demo_pattern=$1"
  say "$name: verification, by independent means"
  ansible-playbook playbooks/lab_verify.yml -e "demo_pattern=$1"
}

say "webfarm.winauth demo on the lab - real: Active Directory (Samba AD DC), Kerberos, LDAP/SMB, WinRM; simulated: IIS's configuration engine"
save_nodes
trap restore EXIT
rm -rf "$plans"     # this demo's plans and records only, never an earlier run's
if [ "$pattern" = lb ] || [ "$pattern" = both ]; then farm lb; fi
if [ "$pattern" = arr ] || [ "$pattern" = both ]; then
  say "ARR farm: seed 000 taken literally - HTTP/<each server's own name> on the shared account"
  if out=$(planned arr-hostname-trap playbooks/lab_demo.yml -e demo_pattern=arr -e demo_arr_literal=true --check \
             2>&1); then
    echo "$out"; echo "the role should have refused the servers' own names" >&2; exit 1
  fi
  grep -o 'The hostname trap - [^"]*' <<<"$out" | head -1 | fold -s -w 110
  echo "(refused before anything was written; the demo continues with a site alias per server)"
  echo "change plan of the refused run: $plans/arr-hostname-trap.plan.html (.md, .json)"
  farm arr
fi
say "Change plans and records (docs/change-plan.md): $plans"
ls -1 "$plans"
say "Done. Real: AD, Kerberos, WinRM. Simulated: IIS's configuration engine. See docs/demo.md and docs/lab.md."
