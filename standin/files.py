"""Slack's external file upload, as the workspace model answers it.

Three steps, as Slack documents them
(https://docs.slack.dev/reference/methods/files.getUploadURLExternal,
https://docs.slack.dev/reference/methods/files.completeUploadExternal) and as slack-sdk's
``WebClient.files_upload_v2`` drives them:

1. ``files.getUploadURLExternal`` with ``filename`` and ``length`` (bytes; required) and optional
   ``alt_txt`` (at most 1000 characters, else ``alt_txt_too_large``) answers ``upload_url`` and
   ``file_id``. A ``length`` of 0 is ``missing_argument``.
2. The client POSTs the file to ``upload_url``, raw bytes or multipart form data; the answer is
   HTTP 200 with ``OK - <bytes>``.
3. ``files.completeUploadExternal`` with ``files`` (a JSON array of ``{"id", "title"}``) and
   ``channel_id`` (or ``channels``, comma-separated), optional ``initial_comment`` and
   ``thread_ts``, shares the files and answers ``files``. Without a channel the file stays
   private. An id that was never issued, or whose bytes never arrived, is ``file_not_found``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as MimeMessage
from typing import Any

JSON = dict[str, Any]
MAX_ALT_TEXT = 1000


class FileError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class StoredFile:
    id: str
    filename: str
    length: int  # as declared to files.getUploadURLExternal
    alt_txt: str | None = None
    title: str | None = None
    data: bytes | None = None  # None until the upload URL received it
    shared_in: list[str] = field(default_factory=list)
    completed: bool = False

    def to_api(self, team_id: str, user: str) -> JSON:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "mimetype": _mimetype(self.filename),
            "filetype": self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else "",
            "size": len(self.data or b""),
            "user": user,
            "user_team": team_id,
            "alt_txt": self.alt_txt,
            "channels": [c for c in self.shared_in if c.startswith("C")],
            "groups": [c for c in self.shared_in if c.startswith("G")],
            "ims": [c for c in self.shared_in if c.startswith("D")],
            "is_external": False,
            "is_public": any(c.startswith("C") for c in self.shared_in),
        }


class FileStore:
    """Files in the fake workspace, keyed by file id."""

    def __init__(self, new_id: Callable[[str], str]) -> None:
        self._new_id = new_id
        self.upload_url_base = "http://files.slack.test/upload/v1/"  # set by the server
        self.files: dict[str, StoredFile] = {}

    def get_upload_url(self, params: JSON) -> JSON:
        filename = str(params.get("filename") or "")
        raw_length = params.get("length")
        if not filename or raw_length in (None, ""):
            raise FileError("invalid_arguments")
        try:
            length = int(str(raw_length))
        except ValueError:
            raise FileError("invalid_arguments") from None
        if length <= 0:
            raise FileError("missing_argument")
        alt_txt = params.get("alt_txt")
        if alt_txt is not None and len(str(alt_txt)) > MAX_ALT_TEXT:
            raise FileError("alt_txt_too_large")
        file_id = self._new_id("F")
        self.files[file_id] = StoredFile(
            file_id, filename, length, str(alt_txt) if alt_txt is not None else None
        )
        return {"upload_url": f"{self.upload_url_base}{file_id}", "file_id": file_id}

    def receive(self, file_id: str, content_type: str, body: bytes) -> int:
        """Bytes POSTed to an upload URL; returns how many were stored."""
        stored = self.files.get(file_id)
        if stored is None or stored.completed:
            raise FileError("not_found")
        if content_type.split(";")[0].strip().lower() == "multipart/form-data":
            body = _multipart_file(content_type, body)
        stored.data = body
        return len(body)

    def complete(self, params: JSON) -> tuple[list[StoredFile], list[str]]:
        """Finish uploads; returns the files and the channels to share them in."""
        listed = params.get("files")
        if isinstance(listed, str):
            try:
                listed = json.loads(listed)
            except ValueError:
                raise FileError("invalid_arguments") from None
        if not isinstance(listed, list) or not listed:
            raise FileError("invalid_arguments")
        chosen = []
        for item in listed:
            if not isinstance(item, dict) or not item.get("id"):
                raise FileError("invalid_arguments")
            stored = self.files.get(str(item["id"]))
            if stored is None or stored.data is None or stored.completed:
                raise FileError("file_not_found")
            chosen.append((stored, item.get("title")))
        channels = [str(params["channel_id"])] if params.get("channel_id") else []
        channels += [c for c in str(params.get("channels") or "").split(",") if c]
        for stored, title in chosen:
            stored.completed = True
            stored.title = str(title) if title else stored.filename
        return [stored for stored, _ in chosen], channels


def _multipart_file(content_type: str, body: bytes) -> bytes:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = message_from_bytes(head + body)
    if not isinstance(message, MimeMessage) or not message.is_multipart():
        raise FileError("invalid_form_data")
    for part in message.get_payload():
        if isinstance(part, MimeMessage):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and part.get_filename() is not None:
                return payload
    raise FileError("invalid_form_data")


def _mimetype(filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}.get(
        extension, "application/octet-stream"
    )
