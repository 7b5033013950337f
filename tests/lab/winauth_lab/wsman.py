# Internal to the webfarm.winauth lab.
"""The Windows Remote Shell (WinRS) side of WS-Management, as a lab node serves it.

This module is the protocol only: it parses SOAP envelopes, keeps shells and
commands, and builds the responses and faults that pywinrm and Ansible's
``winrm`` connection expect ([MS-WSMV] section 3.1.4.x, "Windows Remote Shell").
It performs no network I/O; the node (``winauth_lab.node``) feeds it request
bodies and sends back what it returns. Commands are executed by a callable the
node supplies (the dispatch to the lab twin).

Operations: Create (a shell), Command, Send (stdin), Receive, Signal and Delete
on the ``.../windows/shell/cmd`` resource. Other shell resources (PowerShell
Remoting, ``winauth_lab.psrp``) are served by the handlers the node registers
in ``ShellHost.resources``. Anything else gets the SOAP fault a Windows host
would send.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
ACTION_SEND = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
ACTION_RECEIVE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
ACTION_SIGNAL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
STATE_DONE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"

# WSMan error codes (wsmerror.h) a Windows host answers with.
ERROR_ACCESS_DENIED = 5
ERROR_WSMAN_RESOURCE_NOT_FOUND = 0x80338000
ERROR_WSMAN_INVALID_ACTIONURI = 0x80338001
ERROR_WSMAN_OPERATION_TIMEDOUT = 0x80338029      # 2150858793: clients retry Receive
ERROR_WSMAN_UNEXPECTED_SELECTORS = 0x8033805B    # 2150858843: no such shell
ERROR_WSMAN_SCHEMA_VALIDATION = 0x80338041     # 2150858817

DEFAULT_OPERATION_TIMEOUT = 20.0
MAX_OPERATION_TIMEOUT = 60.0
SHELL_IDLE_TIMEOUT = 600.0
MAX_SHELLS = 1000


class WSManFault(Exception):
    """A SOAP fault to send back (HTTP 500), as a Windows host builds it."""

    def __init__(self, code: str, subcode: str, wsman_code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode
        self.wsman_code = wsman_code
        self.message = message


def timed_out_fault() -> WSManFault:
    return WSManFault("s:Receiver", "w:TimedOut", ERROR_WSMAN_OPERATION_TIMEDOUT,
                      "The WS-Management service cannot complete the operation within the time specified in "
                      "OperationTimeout.")


@dataclass
class Request:
    """The parts of a WS-Management request envelope the shell needs."""

    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    options: dict[str, str]
    operation_timeout: float
    body: ET.Element


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def parse_duration(value: str, default: float) -> float:
    """An xs:duration such as ``PT20S`` or ``PT60.000S``, in seconds."""
    match = _DURATION.match(value.strip())
    if not value.strip() or not match:
        return default
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def parse_request(data: bytes) -> Request:
    """Parse a SOAP envelope; raise WSManFault for anything that is not one."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WSManFault("s:Sender", "w:SchemaValidationError", ERROR_WSMAN_SCHEMA_VALIDATION,
                         "The SOAP XML in the message does not match the corresponding XML schema "
                         "definition: %s" % exc) from exc
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if root.tag != "{%s}Envelope" % NS["s"] or header is None:
        raise WSManFault("s:Sender", "w:SchemaValidationError", ERROR_WSMAN_SCHEMA_VALIDATION,
                         "The request is not a SOAP 1.2 envelope with a header.")
    shell_id = None
    for selector in header.findall("w:SelectorSet/w:Selector", NS):
        if selector.get("Name") == "ShellId":
            shell_id = _text(selector)
    options = {option.get("Name", ""): _text(option) for option in header.findall("w:OptionSet/w:Option", NS)}
    timeout = parse_duration(_text(header.find("w:OperationTimeout", NS)), DEFAULT_OPERATION_TIMEOUT)
    return Request(
        action=_text(header.find("a:Action", NS)),
        message_id=_text(header.find("a:MessageID", NS)),
        resource_uri=_text(header.find("w:ResourceURI", NS)),
        shell_id=shell_id,
        options=options,
        operation_timeout=min(max(timeout, 0.1), MAX_OPERATION_TIMEOUT),
        body=body if body is not None else ET.Element("{%s}Body" % NS["s"]),
    )


def envelope(action: str, relates_to: str, body: str) -> bytes:
    """A response envelope; RelatesTo echoes the request's MessageID (pywinrm checks it)."""
    return ("<s:Envelope xml:lang=\"en-US\" xmlns:s=%s xmlns:a=%s xmlns:x=%s xmlns:w=%s xmlns:rsp=%s xmlns:p=%s>"
            "<s:Header><a:Action>%s</a:Action><a:MessageID>uuid:%s</a:MessageID><a:To>%s</a:To>"
            "<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body>%s</s:Body></s:Envelope>"
            % (quoteattr(NS["s"]), quoteattr(NS["a"]), quoteattr(NS["x"]), quoteattr(NS["w"]), quoteattr(NS["rsp"]),
               quoteattr(NS["p"]), escape(action), str(uuid.uuid4()).upper(), ANONYMOUS, escape(relates_to),
               body)).encode("utf-8")


def fault_envelope(fault: WSManFault, relates_to: str, machine: str) -> bytes:
    body = ("<s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code>"
            "<s:Reason><s:Text xml:lang=\"en-US\">%s</s:Text></s:Reason><s:Detail>"
            "<f:WSManFault xmlns:f=%s Code=\"%d\" Machine=%s><f:Message>%s</f:Message></f:WSManFault>"
            "</s:Detail></s:Fault>"
            % (fault.code, fault.subcode, escape(fault.message), quoteattr(NS["f"]), fault.wsman_code,
               quoteattr(machine), escape(fault.message)))
    return envelope(ACTION_FAULT, relates_to, body)


@dataclass
class Command:
    """One command in a shell: its command line, stdin, and (once run) its result."""

    command_id: str
    command_line: str
    stdin: bytearray = field(default_factory=bytearray)
    stdin_sent: bool = False
    stdin_closed: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[int, bytes, bytes] = (-1, b"", b"")
    delivered: bool = False
    caller: object = None        # whatever the node wants to remember about who sent it (for its log)


@dataclass
class Shell:
    shell_id: str
    owner: str
    codepage: int
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    commands: dict[str, Command] = field(default_factory=dict)


def _encode_output(data: bytes, codepage: int) -> bytes:
    """The twin writes UTF-8; a shell opened with another code page gets its output in that code page."""
    if codepage == 65001 or not data:
        return data
    try:
        return data.decode("utf-8", "replace").encode("cp%d" % codepage, "replace")
    except LookupError:
        return data


class ShellHost:
    """The shells of one node. Thread-safe: a node serves many connections at once."""

    def __init__(self, machine: str, start: Callable[[Command, str], None]) -> None:
        """``start(command, shell_id)`` must run the command (usually in a thread) and set ``command.done``."""
        self.machine = machine
        self._start = start
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}
        # resource URI (lower case) -> handler(request, user, endpoint, caller) -> response envelope
        self.resources: dict[str, Callable[[Request, str, str, object], bytes]] = {}

    @property
    def shell_count(self) -> int:
        with self._lock:
            return len(self._shells)

    def handle(self, data: bytes, user: str, endpoint: str, caller: object = None) -> tuple[int, bytes]:
        """Answer one request body from an authenticated user: (HTTP status, response body).

        ``caller`` is stored on the commands this request creates, for the node's log.
        """
        relates_to = ""
        try:
            request = parse_request(data)
            relates_to = request.message_id
            return 200, self._handle(request, user, endpoint, caller)
        except WSManFault as fault:
            return 500, fault_envelope(fault, relates_to, self.machine)

    # -- operations ---------------------------------------------------------
    def _handle(self, request: Request, user: str, endpoint: str, caller: object) -> bytes:
        resource = self.resources.get(request.resource_uri.lower())
        if resource is not None:
            return resource(request, user, endpoint, caller)
        if request.resource_uri != SHELL_URI:
            raise WSManFault("s:Sender", "w:DestinationUnreachable", ERROR_WSMAN_RESOURCE_NOT_FOUND,
                             "The WS-Management service cannot process the request. The resource URI %s is not "
                             "served by this lab node: it offers only the Windows shell (%s) that pywinrm and "
                             "Ansible's winrm connection use, and PowerShell remoting (psrp)."
                             % (request.resource_uri or "(none)", SHELL_URI))
        if request.action == ACTION_CREATE:
            return self._create(request, user, endpoint)
        if request.action == ACTION_COMMAND:
            return self._command(request, self._shell(request, user), caller)
        handlers = {ACTION_SEND: self._send, ACTION_RECEIVE: self._receive, ACTION_SIGNAL: self._signal,
                    ACTION_DELETE: self._delete}
        handler = handlers.get(request.action)
        if handler is None:
            raise WSManFault("s:Sender", "a:ActionNotSupported", ERROR_WSMAN_INVALID_ACTIONURI,
                             "The WS-Management service cannot process the request. The action %s is not "
                             "supported by this lab node." % (request.action or "(none)"))
        return handler(request, self._shell(request, user))

    def _shell(self, request: Request, user: str) -> Shell:
        with self._lock:
            shell = self._shells.get(request.shell_id or "")
        if shell is None:
            raise WSManFault("s:Sender", "w:InvalidSelectors", ERROR_WSMAN_UNEXPECTED_SELECTORS,
                             "The request for the Windows Remote Shell with ShellId %s failed because the shell was "
                             "not found on the server. Possible causes are: the specified ShellId is incorrect or "
                             "the shell no longer exists on the server. Provide the correct ShellId or create a new "
                             "shell and retry the operation." % (request.shell_id or "(none)"))
        if shell.owner.lower() != user.lower():
            raise WSManFault("s:Sender", "w:AccessDenied", ERROR_ACCESS_DENIED,
                             "Access is denied: the shell %s belongs to another user." % shell.shell_id)
        shell.last_used = time.monotonic()
        return shell

    def _prune(self) -> None:
        now = time.monotonic()
        idle = [sid for sid, shell in self._shells.items() if now - shell.last_used > SHELL_IDLE_TIMEOUT]
        for sid in idle:
            del self._shells[sid]
        while len(self._shells) >= MAX_SHELLS:
            oldest = min(self._shells.values(), key=lambda s: s.last_used)
            del self._shells[oldest.shell_id]

    def _create(self, request: Request, user: str, endpoint: str) -> bytes:
        try:
            codepage = int(request.options.get("WINRS_CODEPAGE") or 437)
        except ValueError:
            codepage = 437
        shell = Shell(shell_id=str(uuid.uuid4()).upper(), owner=user, codepage=codepage)
        with self._lock:
            self._prune()
            self._shells[shell.shell_id] = shell
        body = ("<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>"
                "<w:SelectorSet><w:Selector Name=\"ShellId\">%s</w:Selector></w:SelectorSet></a:ReferenceParameters>"
                "</x:ResourceCreated><rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s</rsp:ResourceUri>"
                "<rsp:Owner>%s</rsp:Owner><rsp:InputStreams>stdin</rsp:InputStreams>"
                "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
                % (escape(endpoint), SHELL_URI, shell.shell_id, shell.shell_id, SHELL_URI, escape(user)))
        return envelope(ACTION_CREATE + "Response", request.message_id, body)

    def _command(self, request: Request, shell: Shell, caller: object) -> bytes:
        line = request.body.find("rsp:CommandLine", NS)
        if line is None:
            raise WSManFault("s:Sender", "w:SchemaValidationError", ERROR_WSMAN_SCHEMA_VALIDATION,
                             "The Command request has no rsp:CommandLine.")
        parts = [_text(line.find("rsp:Command", NS))] + [_text(arg) for arg in line.findall("rsp:Arguments", NS)]
        command = Command(command_id=str(uuid.uuid4()).upper(), command_line=" ".join(p for p in parts if p),
                          caller=caller)
        shell.commands[command.command_id] = command
        body = "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>" % command.command_id
        return envelope(ACTION_COMMAND + "Response", request.message_id, body)

    def _find_command(self, shell: Shell, command_id: str) -> Command:
        command = shell.commands.get(command_id)
        if command is None:
            raise WSManFault("s:Sender", "w:InvalidParameter", ERROR_WSMAN_UNEXPECTED_SELECTORS,
                             "The command %s is not running in shell %s." % (command_id or "(none)", shell.shell_id))
        return command

    def _send(self, request: Request, shell: Shell) -> bytes:
        for stream in request.body.findall("rsp:Send/rsp:Stream", NS):
            command = self._find_command(shell, stream.get("CommandId", ""))
            if stream.get("Name", "stdin") != "stdin":
                continue
            if command.stdin_closed.is_set():
                raise WSManFault("s:Sender", "w:InvalidParameter", ERROR_WSMAN_UNEXPECTED_SELECTORS,
                                 "The stdin stream of command %s is already closed." % command.command_id)
            try:
                command.stdin += base64.b64decode(_text(stream), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise WSManFault("s:Sender", "w:SchemaValidationError", ERROR_WSMAN_SCHEMA_VALIDATION,
                                 "The stdin stream is not valid base64.") from exc
            command.stdin_sent = True
            if stream.get("End", "false").lower() == "true":
                command.stdin_closed.set()
                self._start_once(command, shell)
        return envelope(ACTION_SEND + "Response", request.message_id, "<rsp:SendResponse/>")

    def _start_once(self, command: Command, shell: Shell) -> None:
        with self._lock:
            if command.started:
                return
            command.started = True
        self._start(command, shell.shell_id)

    def _receive(self, request: Request, shell: Shell) -> bytes:
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
        command = self._find_command(shell, desired.get("CommandId", "") if desired is not None else "")
        deadline = time.monotonic() + request.operation_timeout
        # A command whose stdin is still open waits for it, as a real process would.
        if command.stdin_sent and not command.stdin_closed.wait(request.operation_timeout):
            raise timed_out_fault()
        self._start_once(command, shell)
        if not command.done.wait(max(0.0, deadline - time.monotonic())):
            raise timed_out_fault()
        cid = command.command_id
        rc, stdout, stderr = command.result
        streams = []
        if not command.delivered:
            command.delivered = True
            for name, data in (("stdout", stdout), ("stderr", stderr)):
                data = _encode_output(data, shell.codepage)
                if data:
                    streams.append("<rsp:Stream Name=\"%s\" CommandId=\"%s\">%s</rsp:Stream>"
                                   % (name, cid, base64.b64encode(data).decode("ascii")))
        streams += ["<rsp:Stream Name=\"%s\" CommandId=\"%s\" End=\"true\"></rsp:Stream>" % (name, cid)
                    for name in ("stdout", "stderr")]
        body = ("<rsp:ReceiveResponse>%s<rsp:CommandState CommandId=\"%s\" State=\"%s\"><rsp:ExitCode>%d</rsp:ExitCode>"
                "</rsp:CommandState></rsp:ReceiveResponse>" % ("".join(streams), cid, STATE_DONE, rc))
        return envelope(ACTION_RECEIVE + "Response", request.message_id, body)

    def _signal(self, request: Request, shell: Shell) -> bytes:
        signal = request.body.find("rsp:Signal", NS)
        command_id = signal.get("CommandId", "") if signal is not None else ""
        shell.commands.pop(command_id, None)
        return envelope(ACTION_SIGNAL + "Response", request.message_id, "<rsp:SignalResponse/>")

    def _delete(self, request: Request, shell: Shell) -> bytes:
        with self._lock:
            self._shells.pop(shell.shell_id, None)
        return envelope(ACTION_DELETE + "Response", request.message_id, "")


# powershell.exe parameters that take a value (so the value is not mistaken for a parameter).
_PS_VALUE_PARAMETERS = ("-executionpolicy", "-inputformat", "-outputformat", "-windowstyle", "-configurationname",
                        "-version", "-psconsolefile", "-workingdirectory", "-settingsfile", "-custompipename")


def _is_parameter(token: str, name: str, minimum: int) -> bool:
    """PowerShell accepts any unambiguous prefix of a parameter name (``-enc`` for ``-EncodedCommand``)."""
    token = token.lower()
    return len(token) >= minimum and name.startswith(token)


def powershell_script(command_line: str) -> str:
    """The PowerShell a WinRS command line runs, as text.

    ``PowerShell ... -EncodedCommand <base64 UTF-16LE>`` (what Ansible and pywinrm's
    ``run_ps`` send) is decoded; ``-Command`` yields the rest of the line; any other
    command line (``cmd.exe`` style, ``-File``) is returned as it is, for the twin to refuse.
    """
    tokens = command_line.split()
    if not tokens:
        return ""
    program = re.split(r"[\\/]", tokens[0])[-1].lower()
    if program.endswith(".exe"):
        program = program[:-4]
    if program not in ("powershell", "pwsh"):
        return command_line
    index = 1
    while index < len(tokens):
        token = tokens[index]
        lowered = token.lower()
        if lowered in ("-e", "-ec") or _is_parameter(token, "-encodedcommand", 3):
            if index + 1 < len(tokens):
                try:
                    return base64.b64decode(tokens[index + 1], validate=True).decode("utf-16-le")
                except (binascii.Error, ValueError, UnicodeDecodeError):
                    return command_line
            return command_line
        if lowered == "-c" or _is_parameter(token, "-command", 3):
            return " ".join(tokens[index + 1:])
        if any(_is_parameter(token, name, 3) for name in _PS_VALUE_PARAMETERS):
            index += 2
            continue
        if not token.startswith("-"):
            # powershell.exe treats a bare argument as the command text.
            return " ".join(tokens[index:])
        index += 1
    return command_line
