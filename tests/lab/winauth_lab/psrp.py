# Internal to the webfarm.winauth lab.
"""PowerShell Remoting ([MS-PSRP]) on a lab node's WS-Management listeners, as Ansible's psrp connection uses it.

The shell resource ``http://schemas.microsoft.com/powershell/Microsoft.PowerShell`` carries PSRP
messages in fragments ([MS-PSRP] 2.2.4): Create opens a runspace pool (its ``creationXml`` holds the
client's SESSION_CAPABILITY and INIT_RUNSPACEPOOL; the pool answers on the shell's stdout with
SESSION_CAPABILITY, APPLICATION_PRIVATE_DATA and RUNSPACEPOOL_STATE Opened); Command carries a
CREATE_PIPELINE (the script); Send carries PIPELINE_INPUT objects and END_OF_PIPELINE_INPUT (that is
how ``in_data`` arrives); Receive gives PIPELINE_OUTPUT (one string per line of output), an
ERROR_RECORD for what went to stderr, the PIPELINE_HOST_CALL ``SetShouldExit(rc)`` that the script's
``exit`` makes, and PIPELINE_STATE Completed; Signal (``powershell/signal/crtl_c``) stops a pipeline;
Delete closes the pool. The runspace runs the script as ``winauth_lab.hostexec.run_pipeline`` does.
Not served: key exchange (SecureString), host calls that need an answer, disconnect/reconnect, nested
pipelines, more than one command per pipeline. pypsrp's own serializer and fragment classes encode.
"""

from __future__ import annotations

import base64
import binascii
import struct
import threading
import time
import typing as t
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from pypsrp.complex_objects import ErrorRecord, HostMethodIdentifier, PSInvocationState, RunspacePoolState
from pypsrp.messages import (
    ApplicationPrivateData,
    Destination,
    MessageType,
    PipelineHostCall,
    PipelineState,
    RunspacePoolStateMessage,
    SessionCapability,
)
from pypsrp.powershell import Fragment
from pypsrp.serializer import Serializer

from . import hostexec
from .wsman import (
    ACTION_COMMAND,
    ACTION_CREATE,
    ACTION_DELETE,
    ACTION_RECEIVE,
    ACTION_SEND,
    ACTION_SIGNAL,
    ERROR_WSMAN_INVALID_ACTIONURI,
    ERROR_WSMAN_SCHEMA_VALIDATION,
    ERROR_WSMAN_UNEXPECTED_SELECTORS,
    NS,
    STATE_DONE,
    Request,
    WSManFault,
    envelope,
    timed_out_fault,
)

RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
SIGNAL_PS_CTRL_C = "powershell/signal/crtl_c"
PROTOCOL_VERSION, PS_VERSION, SERIALIZATION_VERSION = "2.3", "2.0", "1.1.0.1"
MAX_FRAGMENT = 150000             # well under the 512000-byte envelope pypsrp accepts from a 2.2+ server
SET_SHOULD_EXIT = 6               # [MS-PSRP] 2.2.3.17
VOID_CALL = -100                  # the call id of a host method that returns nothing

# Runs a pipeline: (script, input objects, the pipeline for the log) -> what the runspace gave.
Runner = t.Callable[[str, list, "Pipeline"], hostexec.Result]


@dataclass
class Pipeline:
    pipeline_id: str
    script: str
    no_input: bool
    caller: object
    inputs: list = field(default_factory=list)
    input_bytes: int = 0
    started: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    result: hostexec.Result | None = None
    delivered: bool = False


@dataclass
class Pool:
    pool_id: str
    owner: str
    outgoing: list[bytes] = field(default_factory=list)       # messages for the next shell-level Receive
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    partial: dict[int, bytes] = field(default_factory=dict)   # fragments of incoming objects, by object id
    counter: int = 1
    last_used: float = field(default_factory=time.monotonic)


def _guid_le(value: str | None) -> bytes:
    return uuid.UUID(value).bytes_le if value else b"\x00" * 16


class PsrpHost:
    """The runspace pools of one node."""

    def __init__(self, run: Runner) -> None:
        self._run = run
        self._lock = threading.Lock()
        self._pools: dict[str, Pool] = {}
        self._serializer = Serializer()

    # -- PSRP messages -------------------------------------------------------------------------
    def _payload(self, obj: t.Any) -> bytes:
        return ET.tostring(self._serializer.serialize(obj), encoding="utf-8", method="xml")

    def _message(self, pool: Pool, message_type: int, payload: bytes, pipeline_id: str | None = None) -> bytes:
        """One server-to-client message, fragmented ([MS-PSRP] 2.2.1, 2.2.4)."""
        data = struct.pack("<II", Destination.CLIENT, message_type) + _guid_le(pool.pool_id) + \
            _guid_le(pipeline_id) + payload
        object_id, pool.counter = pool.counter, pool.counter + 1
        chunks = [data[i:i + MAX_FRAGMENT] for i in range(0, len(data), MAX_FRAGMENT)] or [b""]
        return b"".join(Fragment(object_id, index, chunk, index == 0, index == len(chunks) - 1).pack()
                        for index, chunk in enumerate(chunks))

    @staticmethod
    def _messages(pool: Pool, data: bytes) -> list[tuple[int, str, bytes]]:
        """(message type, pipeline id, XML payload) of each complete client message in a byte stream."""
        messages = []
        while data:
            if len(data) < 21:
                raise _schema("a PSRP fragment is shorter than its header")
            fragment, data = Fragment.unpack(data)
            buffered = (pool.partial.pop(fragment.object_id, b"") if not fragment.start else b"") + fragment.data
            if not fragment.end:
                pool.partial[fragment.object_id] = buffered
                continue
            if len(buffered) < 40:
                raise _schema("a PSRP message is shorter than its header")
            message_type = struct.unpack("<I", buffered[4:8])[0]
            pipeline_id = str(uuid.UUID(bytes_le=buffered[24:40])).upper()
            body = buffered[40:]
            messages.append((message_type, pipeline_id, body[3:] if body.startswith(b"\xef\xbb\xbf") else body))
        return messages

    # -- WS-Management operations ------------------------------------------------------------------
    def handle(self, request: Request, user: str, endpoint: str, caller: object) -> bytes:
        if request.action == ACTION_CREATE:
            return self._create(request, user, endpoint)
        pool = self._pool(request, user)
        handlers = {ACTION_COMMAND: self._command, ACTION_SEND: self._send, ACTION_RECEIVE: self._receive,
                    ACTION_SIGNAL: self._signal, ACTION_DELETE: self._delete}
        handler = handlers.get(request.action)
        if handler is None:
            raise WSManFault("s:Sender", "a:ActionNotSupported", ERROR_WSMAN_INVALID_ACTIONURI,
                             "The WS-Management service cannot process the request. The action %s is not supported "
                             "on the PowerShell endpoint of this lab node." % (request.action or "(none)"))
        return handler(request, pool, caller)

    def _pool(self, request: Request, user: str) -> Pool:
        with self._lock:
            pool = self._pools.get((request.shell_id or "").upper())
        if pool is None or pool.owner.lower() != user.lower():
            raise WSManFault("s:Sender", "w:InvalidSelectors", ERROR_WSMAN_UNEXPECTED_SELECTORS,
                             "The request for the Windows Remote Shell with ShellId %s failed because the shell was "
                             "not found on the server." % (request.shell_id or "(none)"))
        pool.last_used = time.monotonic()
        return pool

    def _create(self, request: Request, user: str, endpoint: str) -> bytes:
        shell = request.body.find("rsp:Shell", NS)
        creation = shell.find("{http://schemas.microsoft.com/powershell}creationXml") if shell is not None else None
        if shell is None or creation is None:
            raise _schema("Create on the PowerShell endpoint needs rsp:Shell with creationXml")
        pool = Pool(pool_id=(shell.get("ShellId") or str(uuid.uuid4())).upper(), owner=user)
        types = [m[0] for m in self._messages(pool, _b64(creation.text))]
        if types[:2] != [MessageType.SESSION_CAPABILITY, MessageType.INIT_RUNSPACEPOOL]:
            raise _schema("creationXml must hold SESSION_CAPABILITY and INIT_RUNSPACEPOOL")
        pool.outgoing += [
            self._message(pool, MessageType.SESSION_CAPABILITY,
                          self._payload(SessionCapability(PROTOCOL_VERSION, PS_VERSION, SERIALIZATION_VERSION))),
            self._message(pool, MessageType.APPLICATION_PRIVATE_DATA, self._payload(ApplicationPrivateData(data={}))),
            self._message(pool, MessageType.RUNSPACEPOOL_STATE,
                          self._payload(RunspacePoolStateMessage(state=RunspacePoolState.OPENED))),
        ]
        with self._lock:
            self._pools[pool.pool_id] = pool
        body = ("<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>"
                "<w:SelectorSet><w:Selector Name=\"ShellId\">%s</w:Selector></w:SelectorSet></a:ReferenceParameters>"
                "</x:ResourceCreated><rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s</rsp:ResourceUri>"
                "<rsp:Owner>%s</rsp:Owner><rsp:InputStreams>stdin pr</rsp:InputStreams>"
                "<rsp:OutputStreams>stdout</rsp:OutputStreams></rsp:Shell>"
                % (escape(endpoint), RESOURCE_URI, pool.pool_id, pool.pool_id, RESOURCE_URI, escape(user)))
        return envelope(ACTION_CREATE + "Response", request.message_id, body)

    def _command(self, request: Request, pool: Pool, caller: object) -> bytes:
        line = request.body.find("rsp:CommandLine", NS)
        arguments = line.findall("rsp:Arguments", NS) if line is not None else []
        if line is None or not arguments:
            raise _schema("Command on the PowerShell endpoint needs a CREATE_PIPELINE in rsp:Arguments")
        messages = self._messages(pool, _b64(arguments[0].text))
        created = [m for m in messages if m[0] == MessageType.CREATE_PIPELINE]
        if not created:
            raise _schema("the Command's arguments hold no CREATE_PIPELINE message")
        _type, pipeline_id, payload = created[0]
        script, no_input = _pipeline_script(payload)
        pipeline = Pipeline((line.get("CommandId") or pipeline_id).upper(), script, no_input, caller)
        pool.pipelines[pipeline.pipeline_id] = pipeline
        if no_input:
            self._start(pipeline)
        body = "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>" % pipeline.pipeline_id
        return envelope(ACTION_COMMAND + "Response", request.message_id, body)

    def _send(self, request: Request, pool: Pool, caller: object) -> bytes:
        del caller
        for stream in request.body.findall("rsp:Send/rsp:Stream", NS):
            pipeline = pool.pipelines.get((stream.get("CommandId") or "").upper())
            if pipeline is None or stream.get("Name", "stdin") != "stdin":
                continue        # host responses ("pr") and pool-level input are not served
            for message_type, _pid, payload in self._messages(pool, _b64(stream.text)):
                if message_type == MessageType.PIPELINE_INPUT:
                    pipeline.input_bytes += len(payload)
                    pipeline.inputs.append(self._serializer.deserialize(payload.decode("utf-8", "replace")))
                elif message_type == MessageType.END_OF_PIPELINE_INPUT:
                    self._start(pipeline)
        return envelope(ACTION_SEND + "Response", request.message_id, "<rsp:SendResponse/>")

    def _start(self, pipeline: Pipeline) -> None:
        with self._lock:
            if pipeline.started:
                return
            pipeline.started = True
        threading.Thread(target=self._execute, args=(pipeline,), daemon=True,
                         name="pipeline-%s" % pipeline.pipeline_id[:8]).start()

    def _execute(self, pipeline: Pipeline) -> None:
        try:
            pipeline.result = self._run(pipeline.script, list(pipeline.inputs), pipeline)
        finally:
            pipeline.done.set()

    def _receive(self, request: Request, pool: Pool, caller: object) -> bytes:
        del caller
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
        command_id = (desired.get("CommandId") or "").upper() if desired is not None else ""
        if not command_id:
            if not pool.outgoing:
                time.sleep(min(request.operation_timeout, 1.0))
                raise timed_out_fault()
            data, pool.outgoing = b"".join(pool.outgoing), []
            return self._receive_response(request, data, None)
        pipeline = pool.pipelines.get(command_id)
        if pipeline is None:
            raise WSManFault("s:Sender", "w:InvalidParameter", ERROR_WSMAN_UNEXPECTED_SELECTORS,
                             "The pipeline %s is not running in runspace pool %s." % (command_id, pool.pool_id))
        if not pipeline.done.wait(request.operation_timeout):
            raise timed_out_fault()
        if pipeline.delivered:
            return self._receive_response(request, b"", pipeline.pipeline_id)
        pipeline.delivered = True
        result = pipeline.result or hostexec.Result(1, b"", b"lab node: the pipeline did not run")
        return self._receive_response(request, self._pipeline_messages(pool, pipeline, result), pipeline.pipeline_id)

    def _pipeline_messages(self, pool: Pool, pipeline: Pipeline, result: hostexec.Result) -> bytes:
        pid = pipeline.pipeline_id
        out = [self._message(pool, MessageType.PIPELINE_OUTPUT, self._payload(line), pid)
               for line in result.stdout.decode("utf-8", "replace").splitlines()]
        error = result.stderr.decode("utf-8", "replace").strip()
        if error:
            out.append(self._message(pool, MessageType.ERROR_RECORD, self._payload(_error_record(error)), pid))
        # The script ends with `exit <rc>`: in a runspace that is the host call SetShouldExit.
        call = PipelineHostCall(ci=VOID_CALL, mi=HostMethodIdentifier(value=SET_SHOULD_EXIT), mp=[result.rc])
        out.append(self._message(pool, MessageType.PIPELINE_HOST_CALL, self._payload(call), pid))
        out.append(self._message(pool, MessageType.PIPELINE_STATE,
                                 self._payload(PipelineState(state=PSInvocationState.COMPLETED)), pid))
        return b"".join(out)

    @staticmethod
    def _receive_response(request: Request, data: bytes, command_id: str | None) -> bytes:
        attribute = " CommandId=\"%s\"" % command_id if command_id else ""
        streams = "<rsp:Stream Name=\"stdout\"%s>%s</rsp:Stream>" % (attribute, base64.b64encode(data).decode()) \
            if data else ""
        state = ("<rsp:CommandState CommandId=\"%s\" State=\"%s\"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>"
                 % (command_id, STATE_DONE)) if command_id else ""
        return envelope(ACTION_RECEIVE + "Response", request.message_id,
                        "<rsp:ReceiveResponse>%s%s</rsp:ReceiveResponse>" % (streams, state))

    def _signal(self, request: Request, pool: Pool, caller: object) -> bytes:
        del caller
        signal = request.body.find("rsp:Signal", NS)
        pool.pipelines.pop(((signal.get("CommandId") if signal is not None else "") or "").upper(), None)
        return envelope(ACTION_SIGNAL + "Response", request.message_id, "<rsp:SignalResponse/>")

    def _delete(self, request: Request, pool: Pool, caller: object) -> bytes:
        del caller
        with self._lock:
            self._pools.pop(pool.pool_id, None)
        return envelope(ACTION_DELETE + "Response", request.message_id, "")


def _schema(message: str) -> WSManFault:
    return WSManFault("s:Sender", "w:SchemaValidationError", ERROR_WSMAN_SCHEMA_VALIDATION, message)


def _b64(text: str | None) -> bytes:
    try:
        return base64.b64decode((text or "").strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _schema("a PSRP stream is not valid base64") from exc


def _pipeline_script(payload: bytes) -> tuple[str, bool]:
    """(the script, NoInput) of a CREATE_PIPELINE: one command that is a script ([MS-PSRP] 2.2.2.10, 2.2.3.11)."""
    try:
        root = ET.fromstring(payload)
    except ET.ParseError as exc:
        raise _schema("CREATE_PIPELINE is not CLIXML: %s" % exc) from exc
    no_input = (root.findtext("MS/B[@N='NoInput']") or "false").lower() == "true"
    commands = root.findall("MS/Obj[@N='PowerShell']/MS/Obj[@N='Cmds']/LST/Obj")
    if len(commands) != 1 or (commands[0].findtext("MS/B[@N='IsScript']") or "").lower() != "true":
        return "", no_input     # not one script: the runspace refuses it
    # CLIXML strings escape control characters (_x000A_ for a line feed): the serializer decodes them.
    text = commands[0].findtext("MS/S[@N='Cmd']") or ""
    return Serializer()._deserialize_string(text), no_input  # pylint: disable=protected-access


def _error_record(message: str) -> ErrorRecord:
    """What a command's stderr becomes in a runspace: a NativeCommandError record, which Ansible prints as stderr."""
    record = ErrorRecord(fq_error="NativeCommandError", category=0, invocation=False)
    for name, _meta in record._extended_properties:  # pylint: disable=protected-access  # pypsrp leaves some unset
        if not hasattr(record, name):
            setattr(record, name, None)
    record.extended_info_present = False
    record._to_string = message  # pylint: disable=protected-access  # the record's text, as <ToString> carries it
    return record
