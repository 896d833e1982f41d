"""A stand-in for Slack's Socket Mode: a WebSocket server that hands the app envelopes.

`apps.connections.open` on the fake Web API answers with this server's ws:// URL; the app
connects, gets `hello`, and acknowledges each envelope by echoing its `envelope_id`, as with
Slack. Minimal RFC 6455: text, ping/pong and close frames; the client masks, the server not.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import uuid
from types import TracebackType
from typing import Any, Self

from standin.web_api import FakeSlackWebApi

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class FakeSocketMode:
    def __init__(self, web_api: FakeSlackWebApi) -> None:
        self.web_api = web_api
        self.acks: dict[str, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._clients: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._send_lock = threading.Lock()

    def start(self) -> Self:
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True, name="fake-socket-mode").start()
        port = self._listener.getsockname()[1]
        url = f"ws://127.0.0.1:{port}/link/?ticket={uuid.uuid4().hex}"
        self.web_api.workspace.add_method("apps.connections.open", lambda _: {"url": url})
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        for client in list(self._clients):
            with contextlib.suppress(OSError):
                client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_for_connection(self, timeout: float = 20.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._clients), timeout):
                raise TimeoutError("no Socket Mode client connected")

    def send(self, kind: str, payload: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Deliver one envelope (e.g. slash_commands) and wait for the app's acknowledgement."""
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self._cond:
            client = self._clients[-1]
        self._send_text(client, json.dumps(envelope))
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise TimeoutError(f"the app did not acknowledge envelope {envelope_id}")
            return self.acks[envelope_id]

    # the WebSocket side -------------------------------------------------------------------------

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            self._handshake(client)
            with self._cond:
                self._clients.append(client)
                self._cond.notify_all()
            self._send_text(client, json.dumps({"type": "hello", "num_connections": 1}))
            while True:
                opcode, data = _read_frame(client)
                if opcode == 0x8:
                    return
                if opcode == 0x9:
                    self._send(client, 0xA, data)
                elif opcode == 0x1:
                    message = json.loads(data)
                    if "envelope_id" in message:
                        with self._cond:
                            self.acks[message["envelope_id"]] = message
                            self._cond.notify_all()
        except (OSError, ValueError, ConnectionError):
            return
        finally:
            with self._cond:
                if client in self._clients:
                    self._clients.remove(client)
            client.close()

    @staticmethod
    def _handshake(client: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = client.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            request += chunk
        headers = {}
        for line in request.decode().split("\r\n")[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(
            hashlib.sha1((headers["sec-websocket-key"] + _GUID).encode()).digest()
        ).decode()
        client.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )

    def _send_text(self, client: socket.socket, text: str) -> None:
        self._send(client, 0x1, text.encode())

    def _send(self, client: socket.socket, opcode: int, data: bytes) -> None:
        header = bytes([0x80 | opcode])
        length = len(data)
        if length < 126:
            header += bytes([length])
        elif length < 65536:
            header += bytes([126]) + struct.pack("!H", length)
        else:
            header += bytes([127]) + struct.pack("!Q", length)
        with self._send_lock:
            client.sendall(header + data)


def _read_exactly(client: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = client.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_frame(client: socket.socket) -> tuple[int, bytes]:
    first, second = _read_exactly(client, 2)
    opcode = first & 0x0F
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", _read_exactly(client, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _read_exactly(client, 8))[0]
    mask = _read_exactly(client, 4) if second & 0x80 else b"\0\0\0\0"
    data = bytearray(_read_exactly(client, length))
    for index in range(length):
        data[index] ^= mask[index % 4]
    return opcode, bytes(data)
