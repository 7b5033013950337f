# Test helper of the webfarm.winauth lab (not part of the collection): run one command on a
# Windows host through the host's own connection, with stdin, the way the collection's
# action plugins do (``_low_level_execute_command(cmd, in_data=...)``).
"""lab_node_exec: send ``stdin_bytes`` bytes of stdin with a PowerShell command; return rc, stdout, stderr."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    """Run ``script`` (optionally pre-encoded, as a plugin may do) with a generated stdin payload."""

    _VALID_ARGS = frozenset(("script", "stdin_bytes", "pre_encode"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        script = self._task.args["script"]
        size = int(self._task.args.get("stdin_bytes", 0))
        payload = (b"lab-stdin-" * (size // 10 + 1))[:size] if size else None
        if self._task.args.get("pre_encode"):
            script = self._connection._shell._encode_script(script, as_list=False, strict_mode=True, preserve_rc=True)
        res = self._low_level_execute_command(script, in_data=payload)
        result.update(rc=res["rc"], stdout=res["stdout"], stderr=res["stderr"], stdin_bytes=size, changed=False)
        if res["rc"] != 0:
            result.update(failed=True, msg="the command failed with rc %s" % res["rc"])
        return result
