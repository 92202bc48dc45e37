"""A local HTTP endpoint in a thread: records every request and answers from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: Message  # case-insensitive: urllib sends "X-safechain-signature"
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Endpoint:
    """``statuses`` are answered in order (the last one repeats); "hang" blocks until ``release()``."""

    url: str = ""
    statuses: list[int | str] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)
    got_request: threading.Event = field(default_factory=threading.Event)

    def next_answer(self) -> int | str:
        with self.lock:
            answer = self.statuses[0]
            if len(self.statuses) > 1:
                self.statuses.pop(0)
            return answer

    def release(self) -> None:
        self.released.set()

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return True
            time.sleep(0.05)
        return False


def _handler_for(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with endpoint.lock:
                endpoint.received.append(Received(self.path, self.headers, body))
            endpoint.got_request.set()
            answer = endpoint.next_answer()
            if answer == "hang":
                endpoint.released.wait(120)
                answer = 200
            try:
                if isinstance(answer, str) and answer.startswith("redirect"):
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                else:
                    self.send_response(int(answer))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the client is gone (killed worker, timeout)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve(statuses: list[int | str] | None = None, path: str = "/hook") -> Iterator[Endpoint]:
    endpoint = Endpoint(statuses=list(statuses or [200]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(endpoint))
    server.daemon_threads = True
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.release()
        server.shutdown()
        server.server_close()
