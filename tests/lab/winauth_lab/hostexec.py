# Internal to the webfarm.winauth lab.
"""What a Windows host runs for a remote command, down to the collection's stub.

The lab nodes receive Ansible's commands in three shapes, and each reaches PowerShell the way it
would on Windows (docs/remote-contract.md, "How the command reaches PowerShell"):

* WinRS (winrm, ``run_winrs``): the command line starts a process. ``PowerShell ... -EncodedCommand
  X`` is a powershell.exe that runs the script X; its ``$input`` is the lines of the command's stdin.
* OpenSSH with PowerShell as its DefaultShell (``run_ssh``): sshd runs ``powershell.exe -c <the
  command line>``; the same rules apply to what that script starts.
* PSRP (``run_pipeline``): the script runs in the runspace with the pipeline input objects as
  ``$input``; there is no console stdin.

A script that carries a collection marker is the stub (or a script of the collection) and goes to
the twin with the input it would read. A script that only starts another ``PowerShell
-EncodedCommand`` (what ansible-core's winrm before 2.19 and ssh before 2.18 make of an encoded
command) runs it as a child process: the parent never reads its ``$input``, so the child inherits
the stdin handle and reads all of the command's stdin; in a PSRP runspace a child has no stdin at all.
The parent's exit code is the child's when the script propagates it (Ansible's trailer, ``exit
$LASTEXITCODE``), else 0 or 1 as powershell.exe's ``-Command`` gives it (``$?``). Anything else is
refused by name. ``processes`` counts the powershell.exe processes a command started, for the log.
stdin may be given as a callable: it is read only when a script reads ``$input`` (the stub), as a
process that never reads its stdin never waits for it (an SSH client may keep it open).
"""

from __future__ import annotations

import base64
import binascii
import re
import typing as t
from dataclasses import dataclass

from .collection import remote_contract
from .remote import REFUSAL

# The twin: (script, stdin as its stub reads it) -> (rc, stdout, stderr).
Twin = t.Callable[[str, bytes], tuple[int, bytes, bytes]]
# A command's stdin: its bytes, or a callable that reads them when a script first reads $input.
Stdin = t.Union[bytes, t.Callable[[], bytes]]

MAX_NESTING = 4
_STRICT = re.compile(r"^Set-StrictMode\s+-Version\s+Latest$", re.I)
_CHCP = re.compile(r"^chcp(?:\.com)?\s+\d+(?:\s*>\s*\$null)?$", re.I)
_RC_TRAILER = re.compile(r"^If \(-not \$\?\) \{ If \(Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue\) "
                         r"\{ exit \$LASTEXITCODE \} Else \{ exit 1 \} \}$", re.I)
_EXIT_LASTEXITCODE = re.compile(r"^exit\s+\$LASTEXITCODE$", re.I)
# powershell.exe parameters that take a value (so the value is not mistaken for the command).
_VALUE_PARAMETERS = ("-executionpolicy", "-inputformat", "-outputformat", "-windowstyle", "-configurationname",
                     "-version", "-psconsolefile", "-workingdirectory", "-settingsfile", "-custompipename")
_PROGRAMS = ("powershell", "pwsh")


@dataclass
class Result:
    """What a command gave back, and how many powershell.exe processes it took."""

    rc: int
    stdout: bytes
    stderr: bytes
    processes: int = 0


def _refuse(what: str) -> Result:
    name = what.strip().split(None, 1)[0] if what.strip() else "(empty)"
    return Result(1, b"", ("%s: %s\r\n" % (REFUSAL, name[:80])).encode("utf-8"))


def _is_parameter(token: str, name: str, minimum: int = 3) -> bool:
    """PowerShell accepts any unambiguous prefix of a parameter name (``-enc`` for ``-EncodedCommand``)."""
    token = token.lower()
    return len(token) >= minimum and name.startswith(token)


def _program(token: str) -> str:
    program = re.split(r"[\\/]", token.strip('"'))[-1].lower()
    return program[:-4] if program.endswith(".exe") else program


def powershell_arguments(tokens: list[str]) -> str | None:
    """The script a powershell.exe command line runs (``-EncodedCommand``, ``-Command`` or a bare command), or None."""
    index = 1
    while index < len(tokens):
        token, lowered = tokens[index], tokens[index].lower()
        if lowered in ("-e", "-ec") or _is_parameter(token, "-encodedcommand"):
            try:
                return base64.b64decode(tokens[index + 1], validate=True).decode("utf-16-le")
            except (IndexError, binascii.Error, ValueError, UnicodeDecodeError):
                return None
        if lowered == "-c" or _is_parameter(token, "-command"):
            return " ".join(tokens[index + 1:])
        if any(_is_parameter(token, name) for name in _VALUE_PARAMETERS):
            index += 2
            continue
        if _is_parameter(token, "-file", 2):
            return None      # a script file: nothing of the collection's runs that way
        if not token.startswith("-"):
            return " ".join(tokens[index:])
        index += 1
    return None


def _statements(script: str) -> tuple[list[str], bool]:
    """The script's statements that do something, and whether it propagates a child's exit code."""
    statements, propagates = [], False
    for line in script.splitlines():
        line = line.strip()
        if _RC_TRAILER.match(line):
            propagates = True
            continue
        for statement in line.split(";") if "'" not in line and '"' not in line else [line]:
            statement = statement.strip()
            if not statement or _STRICT.match(statement) or _CHCP.match(statement):
                continue
            if _EXIT_LASTEXITCODE.match(statement):
                propagates = True
                continue
            statements.append(statement)
    return statements, propagates


def _input_text(objects: t.Sequence[object]) -> bytes:
    """``@($input) -join "`n"``: strings as they are, any other object as PowerShell renders it (its type name)."""
    return "\n".join(o if isinstance(o, str) else "System.%s" % ("Byte[]" if isinstance(o, bytes) else type(o).__name__)
                     for o in objects).encode("utf-8", "surrogateescape")


def _read(stdin: Stdin) -> bytes:
    return stdin() if callable(stdin) else stdin


def run_script(script: str, input_objects: t.Sequence[object] | t.Callable[[], t.Sequence[object]],
               child_stdin: Stdin | None, twin: Twin, depth: int = 0) -> Result:
    """A PowerShell script: the stub (to the twin), a nested powershell.exe, or refused.

    ``child_stdin`` is what a native child process would read on its stdin (None: it has none, as in a runspace).
    """
    if remote_contract.parse_marker(script or "") is not None:
        objects = input_objects() if callable(input_objects) else input_objects
        rc, stdout, stderr = twin(script, _input_text(objects))
        return Result(rc, stdout, stderr)
    statements, propagates = _statements(script or "")
    if len(statements) == 1 and depth < MAX_NESTING:
        tokens = statements[0].split()
        if tokens and _program(tokens[0]) in _PROGRAMS:
            child = powershell_exe(tokens, child_stdin or b"", twin, depth + 1)
            rc = child.rc if propagates else (0 if child.rc == 0 else 1)
            return Result(rc, child.stdout, child.stderr, child.processes)
    return _refuse(statements[0] if statements else script or "")


def powershell_exe(tokens: list[str], stdin: Stdin, twin: Twin, depth: int = 0) -> Result:
    """A powershell.exe process: its script reads the lines of stdin as ``$input``; a child inherits the stdin."""
    script = powershell_arguments(tokens)
    if script is None:
        return _refuse(" ".join(tokens))
    result = run_script(script, lambda: _read(stdin).decode("utf-8", "surrogateescape").splitlines(), stdin, twin,
                        depth)
    result.processes += 1
    return result


def run_winrs(command_line: str, stdin: Stdin, twin: Twin) -> Result:
    """A WinRS command (``rsp:Command`` and its arguments, joined): only powershell.exe is run."""
    tokens = command_line.split()
    if not tokens or _program(tokens[0]) not in _PROGRAMS:
        return _refuse(command_line)
    return powershell_exe(tokens, stdin, twin)


def run_ssh(command_line: str, stdin: Stdin, twin: Twin) -> Result:
    """An SSH exec request on a host whose OpenSSH DefaultShell is PowerShell: ``powershell.exe -c <command line>``."""
    return powershell_exe(["powershell.exe", "-c", command_line], stdin, twin)


def run_pipeline(script: str, input_objects: t.Sequence[object], twin: Twin) -> Result:
    """A PSRP pipeline: the script in the runspace, ``$input`` the pipeline input objects, no console stdin."""
    return run_script(script, input_objects, None, twin)
