"""A tiny tus 1.0 server (core, creation, checksum, termination) on a real socket, for the SDK's
upload tests. It keeps uploads in memory and names the completed upload's media id in the
``Fieldline-Media-Id`` header."""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class TusUpload:
    length: int
    metadata: dict[str, str]
    data: bytearray = field(default_factory=bytearray)
    media_id: str | None = None


class TusState:
    def __init__(self) -> None:
        self.uploads: dict[str, TusUpload] = {}
        self.patches = 0
        self.checksum_failures = 0
        self.lock = threading.Lock()


def _metadata(header: str) -> dict[str, str]:
    out = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        out[key] = base64.b64decode(value).decode() if value else ""
    return out


def make_handler(state: TusState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Tus-Resumable", "1.0.0")
            self.send_header("Content-Length", "0")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()

        def _upload(self) -> TusUpload | None:
            return state.uploads.get(self.path.rsplit("/", 1)[-1])

        def do_OPTIONS(self) -> None:
            self._send(
                204,
                {
                    "Tus-Version": "1.0.0",
                    "Tus-Extension": "creation,checksum,termination",
                    "Tus-Checksum-Algorithm": "sha1",
                    "Tus-Max-Size": str(50_000_000),
                },
            )

        def do_POST(self) -> None:
            ident = uuid.uuid4().hex
            with state.lock:
                state.uploads[ident] = TusUpload(
                    int(self.headers["Upload-Length"]), _metadata(self.headers.get("Upload-Metadata", ""))
                )
            self._send(201, {"Location": f"/v1/uploads/{ident}"})

        def do_HEAD(self) -> None:
            upload = self._upload()
            if upload is None:
                self._send(404)
                return
            headers = {"Upload-Offset": str(len(upload.data)), "Upload-Length": str(upload.length)}
            if upload.media_id:
                headers["Fieldline-Media-Id"] = upload.media_id
            self._send(200, headers)

        def do_PATCH(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            upload = self._upload()
            with state.lock:
                state.patches += 1
                if upload is None:
                    self._send(404)
                    return
                if int(self.headers["Upload-Offset"]) != len(upload.data):
                    self._send(409)
                    return
                algorithm, _, digest = self.headers.get("Upload-Checksum", "").partition(" ")
                expected = base64.b64encode(hashlib.sha1(body, usedforsecurity=False).digest()).decode()
                if algorithm != "sha1" or digest != expected:
                    state.checksum_failures += 1
                    self._send(460)
                    return
                upload.data.extend(body)
                headers = {"Upload-Offset": str(len(upload.data))}
                if len(upload.data) == upload.length:
                    upload.media_id = str(uuid.uuid4())
                    headers["Fieldline-Media-Id"] = upload.media_id
            self._send(204, headers)

        def do_DELETE(self) -> None:
            with state.lock:
                found = state.uploads.pop(self.path.rsplit("/", 1)[-1], None)
            self._send(204 if found else 404)

    return Handler


class TusServer:
    def __init__(self) -> None:
        self.state = TusState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.state))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> TusServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
