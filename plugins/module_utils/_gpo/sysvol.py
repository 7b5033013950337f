# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""SYSVOL over SMB: the file half of a GPO (GPT.INI, GptTmpl.inf, the folder and its ACL).

The connection goes to the same DC the directory connection is bound to, with
the same credentials (the ``ad`` options): ``auth=kerberos`` authenticates with
Kerberos to ``cifs/<DC dnsHostName>`` (password, keytab or credential cache),
``auth=simple`` and ``auth=ntlm`` with NTLM (pyspnego computes it, no MD4 from
OpenSSL needed). Messages are signed, as DCs require for SYSVOL (hardened UNC
paths). Every failure becomes one :class:`SysvolError` line that says what to do;
passwords never appear in it. This file is the collection's one caller of smbprotocol.
"""

from __future__ import annotations

import contextlib
import time
import typing as t
import uuid

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo import smb_codes as smb
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol_path import (
    SYSVOL_SHARE,
    SysvolError,
    SysvolPathError,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.credentials import Credential

try:
    from smbprotocol import exceptions as smb_exceptions
    from smbprotocol.connection import Connection
    from smbprotocol.file_info import (
        FileDispositionInformation,
        FileInformationClass,
        FileRenameInformation,
        InfoType,
    )
    from smbprotocol.open import (
        CreateDisposition,
        CreateOptions,
        FileAttributes,
        ImpersonationLevel,
        Open,
        SMB2QueryInfoRequest,
        SMB2QueryInfoResponse,
        SMB2SetInfoRequest,
    )
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect
except ImportError:  # pragma: no cover - reported by require_smb()
    Connection = None  # type: ignore[assignment,misc]

# A file whose delete is pending keeps its name until the last handle on it closes: another run's read of a
# marker that is being removed, or its planning read still holding a file this run just deleted. The open is
# tried again for this long before the status is reported.
DELETE_PENDING_WAIT = 5.0
_DELETE_PENDING_STEP = 0.02
_REREAD_ATTEMPTS = 50  # opens of a file rewritten in place while it was read (each one a complete read)
_REREAD_STEP = 0.02

__all__ = ["SYSVOL_SHARE", "Sysvol", "SysvolError", "SysvolPathError", "join", "require_smb", "sysvol_for"]


def require_smb() -> str | None:
    """The name of the missing Python library, or None."""
    return "smbprotocol" if Connection is None else None


def join(*parts: str) -> str:
    return "\\".join(part.strip("\\") for part in parts if part)


class Sysvol:
    """One authenticated SMB session to a share of one DC (lazily opened)."""

    def __init__(self, server: str, credential: Credential, share: str = SYSVOL_SHARE, hostname: str | None = None,
                 timeout: int = 10, port: int = 445) -> None:
        self.server = server
        self.share = share
        self.port = port
        self.hostname = hostname or server
        self._credential = credential
        self._protocol = credential.protocol
        self._timeout = timeout
        self._connection: t.Any = None
        self._session: t.Any = None
        self._tree: t.Any = None

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self) -> "Sysvol":
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    def close(self) -> None:
        for closer in (lambda: self._tree and self._tree.disconnect(),
                       lambda: self._session and self._session.disconnect(),
                       lambda: self._connection and self._connection.disconnect()):
            try:
                closer()
            except Exception:  # pylint: disable=broad-except
                pass
        self._tree = self._session = self._connection = None

    def tree(self) -> t.Any:
        if self._tree is not None:
            return self._tree
        if Connection is None:
            raise SysvolError("the Python library smbprotocol is required to reach SYSVOL; install the collection's "
                              "requirements.txt on the host that runs this task")
        where = "%s:%d" % (self.server, self.port)
        try:
            connection = Connection(uuid.uuid4(), self.server, self.port, require_signing=True)
            connection.connect(timeout=self._timeout)
        except Exception as exc:  # pylint: disable=broad-except
            raise SysvolError("cannot reach SMB on %s (%s): SYSVOL is read and written over SMB (445/tcp) on the same "
                              "DC as LDAP; allow it through firewalls" % (where, self._clean(exc))) from exc
        self._connection = connection
        try:
            session = Session(connection, self._credential.spnego(), None, require_encryption=False,
                              hostname_override=self.hostname, auth_protocol=self._protocol)
            session.connect()
        except Exception as exc:  # pylint: disable=broad-except
            self.close()
            reason = "the DC rejected the username or password" if self._status(exc) == smb.STATUS_LOGON_FAILURE \
                else self._clean(exc)
            raise SysvolError("SMB authentication to %s failed (%s as %s): %s; the SYSVOL connection uses the same "
                              "username and password (or Kerberos ticket) as the directory connection"
                              % (self.hostname, self._protocol, self._who(), reason)) from exc
        self._session = session
        try:
            tree = TreeConnect(session, "\\\\%s\\%s" % (self.server, self.share))
            tree.connect()
        except Exception as exc:  # pylint: disable=broad-except
            self.close()
            raise SysvolError("cannot open the share \\\\%s\\%s: %s" % (self.server, self.share,
                                                                        self._explain(exc, self.share))) from exc
        self._tree = tree
        return tree

    # -- errors --------------------------------------------------------------
    def _who(self) -> str:
        return self._credential.username or "the Kerberos ticket in the credential cache"

    def _clean(self, exc: BaseException) -> str:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if self._credential.password:
            text = text.replace(self._credential.password, "********")
        return text

    def _explain(self, exc: BaseException, path: str) -> str:
        status = getattr(exc, "status", None)
        if status == smb.STATUS_ACCESS_DENIED:
            return ("access denied to %s for %s: editing a GPO needs write access to its SYSVOL folder (Domain Admins, "
                    "Group Policy Creator Owners for GPOs they created, or delegated edit rights)" % (path, self._who()))
        if status == smb.STATUS_BAD_NETWORK_NAME:
            return "the DC %s has no share %s: is it a domain controller with SYSVOL shared?" % (self.server, path)
        if status in (smb.STATUS_OBJECT_NAME_NOT_FOUND, smb.STATUS_OBJECT_PATH_NOT_FOUND):
            return "%s does not exist in \\\\%s\\%s" % (path, self.server, self.share)
        if status == smb.STATUS_DELETE_PENDING:
            return ("%s is being deleted and another client still holds it open (for %.0f s); run again once that "
                    "client is done" % (path, DELETE_PENDING_WAIT))
        if status == smb.STATUS_SHARING_VIOLATION:
            return "%s is open elsewhere without sharing (an editor holds it); close it and run again" % path
        if isinstance(exc, (smb_exceptions.SMBConnectionClosed, OSError, TimeoutError)):
            return "the SMB connection to %s dropped while working on %s (%s); run again" % (
                self.server, path, self._clean(exc))
        return "%s: %s" % (path, self._clean(exc))

    def _fail(self, action: str, path: str, exc: BaseException) -> SysvolError:
        return SysvolError("SYSVOL: %s %s failed: %s" % (action, path, self._explain(exc, path)))

    # -- primitives ----------------------------------------------------------
    def _open(self, path: str, access: int, disposition: int, options: int, attributes: int = 0,
              wait_delete_pending: bool = True) -> t.Any:
        """An open handle; an open that meets a pending delete is tried again until the deleting client is done."""
        deadline = time.monotonic() + DELETE_PENDING_WAIT
        while True:
            handle = Open(self.tree(), path)
            try:
                handle.create(ImpersonationLevel.Impersonation, access,
                              attributes or FileAttributes.FILE_ATTRIBUTE_NORMAL, smb.SHARE_ALL, disposition, options)
                return handle
            except Exception as exc:  # pylint: disable=broad-except  # smbprotocol raises many types
                if not wait_delete_pending or self._status(exc) != smb.STATUS_DELETE_PENDING \
                        or time.monotonic() >= deadline:
                    raise
            time.sleep(_DELETE_PENDING_STEP)

    @staticmethod
    def _close(handle: t.Any) -> None:
        try:
            handle.close()
        except Exception:  # pylint: disable=broad-except
            pass

    def _set_info(self, handle: t.Any, info_type: int, info_class: int, buffer: bytes, additional: int = 0) -> None:
        request = SMB2SetInfoRequest()
        request["info_type"] = info_type
        request["file_info_class"] = info_class
        # smbprotocol's flag list lacks the (UN)PROTECTED_DACL bits; the protocol allows them.
        request.fields["additional_information"].flag_strict = False
        request["additional_information"] = additional
        request["file_id"] = handle.file_id
        request["buffer"] = buffer
        connection = handle.connection
        sent = connection.send(request, handle.tree_connect.session.session_id, handle.tree_connect.tree_connect_id)
        connection.receive(sent)

    @staticmethod
    def _status(exc: BaseException) -> int | None:
        return getattr(exc, "status", None)

    @contextlib.contextmanager
    def _opened(self, action: str, path: str, access: int, disposition: int, options: int, attributes: int = 0,
                absent: t.Collection[int] = ()) -> t.Iterator[t.Any]:
        """An open handle (None when opening fails with a status in ``absent``), closed after; failures explained."""
        try:
            handle = self._open(path, access, disposition, options, attributes,
                                wait_delete_pending=smb.STATUS_DELETE_PENDING not in absent)
        except SysvolError:
            raise
        except Exception as exc:  # pylint: disable=broad-except  # smbprotocol raises many types
            if self._status(exc) in absent:
                yield None
                return
            raise self._fail(action, path, exc) from exc
        try:
            yield handle
        except SysvolError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            raise self._fail(action, path, exc) from exc
        finally:
            self._close(handle)

    # -- files ---------------------------------------------------------------
    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist.

        GPMC and secedit rewrite GPT.INI in place (truncate, then write): a read that meets the
        truncation opens the file again, so it returns bytes one writer wrote, never a failure.
        """
        for _attempt in range(_REREAD_ATTEMPTS):
            with self._opened("reading", path, smb.GENERIC_READ, CreateDisposition.FILE_OPEN,
                              CreateOptions.FILE_NON_DIRECTORY_FILE, absent=smb.NOT_FOUND) as handle:
                if handle is None:
                    return None
                data = self._read_whole(handle)
            if data is not None:
                return data
            time.sleep(_REREAD_STEP)
        raise SysvolError("SYSVOL: reading %s failed: another client rewrote it in place %d times while this run "
                          "read it; run again when that client is done" % (path, _REREAD_ATTEMPTS))

    def _read_whole(self, handle: t.Any) -> bytes | None:
        """All bytes of an open file; None when it shrank under the read (rewritten in place meanwhile)."""
        size = handle.end_of_file
        chunks = []
        offset = 0
        step = max(4096, min(handle.connection.max_read_size, 1 << 20))
        while offset < size:
            try:
                data = handle.read(offset, min(step, size - offset))
            except Exception as exc:  # pylint: disable=broad-except  # smbprotocol raises many types
                if self._status(exc) == smb.STATUS_END_OF_FILE:
                    return None
                raise
            if not data:
                return None
            chunks.append(data)
            offset += len(data)
        return b"".join(chunks)

    def write(self, path: str, data: bytes) -> None:
        """Create or overwrite a file with ``data``."""
        with self._opened("writing", path, smb.GENERIC_WRITE | smb.GENERIC_READ, CreateDisposition.FILE_OVERWRITE_IF,
                          CreateOptions.FILE_NON_DIRECTORY_FILE) as handle:
            self._write_chunks(handle, data)

    @staticmethod
    def _write_chunks(handle: t.Any, data: bytes) -> None:
        step = max(4096, min(handle.connection.max_write_size, 1 << 20))
        for offset in range(0, len(data), step):
            handle.write(data[offset:offset + step], offset)

    def replace(self, path: str, data: bytes, temporary: str) -> None:
        """Write ``data`` to ``temporary`` (same folder), then rename it over ``path``.

        A reader never sees a half-written file: if the connection drops while
        writing, ``path`` still holds the previous content.
        """
        self.write(temporary, data)
        self._rename(temporary, path, replace_if_exists=True)

    def create(self, path: str, data: bytes, temporary: str) -> bool:
        """Create ``path`` holding ``data`` unless it exists; False, and nothing written over it, when it does.

        Written to ``temporary`` and renamed without replacing: racing creators leave the first
        one's file, whole, and readers never meet it empty or truncated by a later creator.
        """
        self.write(temporary, data)
        created = False
        try:
            created = self._rename(temporary, path, replace_if_exists=False)
        finally:
            if not created:
                self.remove(temporary)
        return created

    def _rename(self, source: str, target: str, replace_if_exists: bool) -> bool:
        """Rename ``source`` to ``target``; False when ``target`` exists and is not to be replaced."""
        with self._opened("renaming", source, smb.DELETE | smb.SYNCHRONIZE | smb.FILE_READ_ATTRIBUTES,
                          CreateDisposition.FILE_OPEN, CreateOptions.FILE_NON_DIRECTORY_FILE) as handle:
            rename = FileRenameInformation()
            rename["replace_if_exists"] = replace_if_exists
            rename["file_name"] = target
            try:
                self._set_info(handle, InfoType.SMB2_0_INFO_FILE, FileInformationClass.FILE_RENAME_INFORMATION,
                               rename.pack())
            except Exception as exc:  # pylint: disable=broad-except
                if not replace_if_exists and self._status(exc) == smb.STATUS_OBJECT_NAME_COLLISION:
                    return False
                raise self._fail("renaming %s to" % source, target, exc) from exc
        return True

    def remove(self, path: str) -> bool:
        """Delete a file; False when it did not exist."""
        return self._delete(path, directory=False)

    def _delete(self, path: str, directory: bool) -> bool:
        options = CreateOptions.FILE_DIRECTORY_FILE if directory else CreateOptions.FILE_NON_DIRECTORY_FILE
        with self._opened("deleting", path, smb.DELETE | smb.SYNCHRONIZE | smb.FILE_READ_ATTRIBUTES, CreateDisposition.FILE_OPEN,
                          options, absent=smb.NOT_FOUND + (smb.STATUS_DELETE_PENDING,)) as handle:
            if handle is None:
                return False
            disposition = FileDispositionInformation()
            disposition["delete_pending"] = True
            self._set_info(handle, InfoType.SMB2_0_INFO_FILE, FileInformationClass.FILE_DISPOSITION_INFORMATION,
                           disposition.pack())
        return True

    # -- folders -------------------------------------------------------------
    def is_dir(self, path: str) -> bool | None:
        """True for a folder, False for a file, None when nothing is there."""
        with self._opened("looking up", path, smb.FILE_READ_ATTRIBUTES | smb.SYNCHRONIZE, CreateDisposition.FILE_OPEN, 0,
                          absent=smb.NOT_FOUND) as handle:
            return None if handle is None else bool(handle.file_attributes & smb.ATTRIBUTE_DIRECTORY)

    def mkdir(self, path: str) -> bool:
        """Create a folder; False when it already existed."""
        with self._opened("creating the folder", path, smb.FILE_LIST_DIRECTORY | smb.SYNCHRONIZE | smb.FILE_READ_ATTRIBUTES,
                          CreateDisposition.FILE_CREATE, CreateOptions.FILE_DIRECTORY_FILE,
                          FileAttributes.FILE_ATTRIBUTE_DIRECTORY, absent=(smb.STATUS_OBJECT_NAME_COLLISION,)) as handle:
            return handle is not None

    def makedirs(self, path: str) -> bool:
        created = False
        parts = path.split("\\")
        for depth in range(1, len(parts) + 1):
            created = self.mkdir("\\".join(parts[:depth])) or created
        return created

    def listdir(self, path: str) -> list[tuple[str, bool]]:
        """(name, is_folder) of a folder's entries."""
        names: list[tuple[str, bool]] = []
        with self._opened("listing", path, smb.FILE_LIST_DIRECTORY | smb.SYNCHRONIZE | smb.FILE_READ_ATTRIBUTES,
                          CreateDisposition.FILE_OPEN, CreateOptions.FILE_DIRECTORY_FILE,
                          FileAttributes.FILE_ATTRIBUTE_DIRECTORY) as handle:
            while True:
                try:
                    batch = handle.query_directory("*", FileInformationClass.FILE_DIRECTORY_INFORMATION)
                except Exception as exc:  # pylint: disable=broad-except
                    if self._status(exc) == smb.STATUS_NO_MORE_FILES:
                        break
                    raise
                for entry in batch:
                    name = entry["file_name"].get_value().decode("utf-16-le")
                    if name not in (".", ".."):
                        names.append((name, bool(entry["file_attributes"].get_value() & smb.ATTRIBUTE_DIRECTORY)))
        return names

    def rmtree(self, path: str) -> bool:
        """Delete a folder and everything in it; False when it did not exist."""
        if self.is_dir(path) is None:
            return False
        for name, is_folder in self.listdir(path):
            child = join(path, name)
            if is_folder:
                self.rmtree(child)
            else:
                self.remove(child)
        self._delete(path, directory=True)
        return True

    # -- security ------------------------------------------------------------
    def get_security(self, path: str, information: int = 0x7) -> bytes:
        """The self-relative security descriptor of a file or folder (owner, group, DACL by default)."""
        with self._opened("reading the ACL of", path, smb.READ_CONTROL | smb.SYNCHRONIZE, CreateDisposition.FILE_OPEN,
                          0) as handle:
            request = SMB2QueryInfoRequest()
            request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
            request["output_buffer_length"] = smb.SECURITY_INFO_MAX
            request["additional_information"] = information
            request["file_id"] = handle.file_id
            connection = handle.connection
            sent = connection.send(request, handle.tree_connect.session.session_id,
                                   handle.tree_connect.tree_connect_id)
            response = SMB2QueryInfoResponse()
            response.unpack(connection.receive(sent)["data"].get_value())
            return response["buffer"].get_value()

    def set_security(self, path: str, descriptor: bytes, information: int) -> None:
        with self._opened("setting the ACL of", path, smb.WRITE_DAC | smb.WRITE_OWNER | smb.READ_CONTROL | smb.SYNCHRONIZE,
                          CreateDisposition.FILE_OPEN, 0) as handle:
            self._set_info(handle, InfoType.SMB2_0_INFO_SECURITY, 0, descriptor, information)


def sysvol_for(options: t.Any, server: str, dc_hostname: str, share: str = SYSVOL_SHARE) -> Sysvol:
    """A SYSVOL session with the credentials of the directory connection (``ConnectionOptions``).

    ``auth=kerberos`` uses Kerberos (password, keytab or the credential cache: the directory connection's own
    credential), ``auth=simple`` and ``auth=ntlm`` use NTLM with the same username and password.
    """
    if options.auth == "kerberos":
        return Sysvol(server, options.credential(), share, hostname=dc_hostname, timeout=options.connect_timeout)
    username = options.username or ""
    if "\\" not in username and "@" not in username:
        raise SysvolPathError("username=%s cannot authenticate to SYSVOL: SMB needs NTLM or Kerberos, so give username "
                              "as user@domain or DOMAIN\\user (a DN only works for LDAP simple binds)" % username)
    return Sysvol(server, Credential("ntlm", username, options.password), share, hostname=dc_hostname,
                  timeout=options.connect_timeout)
