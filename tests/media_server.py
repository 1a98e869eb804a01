"""A real HTTP server of media on 127.0.0.1 for tests: ETags, 304s, failures and delays on demand."""

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class MediaServer:
    """Files by path; `/flaky/<n>/...` answers 503 n times first; `/slow/...` answers after 2 s; counts
    full answers (200) and revalidations (304) per path, and the most requests in flight at once (waiting
    on `delay`, before their answer is written)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.bodies, self.not_modified, self.failures = Counter(), Counter(), Counter()
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        self.delay = 0.0

    def handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with server.lock:
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay)
                finally:
                    # out of flight before the answer is written: the client frees its slot only after it
                    # has read the answer, so counting past that point would race with its next request
                    with server.lock:
                        server.in_flight -= 1
                self._answer()

            def _answer(self):
                path = self.path
                if path.startswith("/slow/"):
                    time.sleep(2.0)
                    path = path[len("/slow") :]
                if path.startswith("/flaky/"):
                    _, _, times, rest = path.split("/", 3)
                    if server.failures[path] < int(times):
                        server.failures[path] += 1
                        self.send_response(503)
                        self.end_headers()
                        return
                    path = "/" + rest
                body = server.files.get(path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    server.not_modified[path] += 1
                    self.send_response(304)
                    self.end_headers()
                    return
                server.bodies[path] += 1
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def serve_media() -> Iterator[MediaServer]:
    """Start a `MediaServer` on a free port of 127.0.0.1 (its address in `.url`); stop it after the yield."""
    state = MediaServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def serve_s3(bucket: str = "media") -> Iterator[tuple[str, object]]:
    """moto's S3-compatible server on a free port of 127.0.0.1 with an empty `bucket`; yields (its
    endpoint URL, a boto3 client of it); test credentials only, nothing leaves the machine."""
    import os

    import boto3
    from moto.server import ThreadedMotoServer

    from components.ports import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    try:
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        yield endpoint, client
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
