"""Guards around MLflow's scoring app: a body size limit, and error messages that do not echo the request.

MLflow's scoring app reads the whole body into memory, parses it and scores every row in one thread that
its request timeout does not stop; so a 50 MB body would hold the worker for minutes. `BodyLimit` answers
HTTP 413 as soon as the declared `Content-Length` (or, for a chunked body, the bytes received so far)
passes the limit, before MLflow sees the request, with a body shaped like MLflow's own errors (`error_code`, `message`). MLflow's answer to
a body that is not JSON repeats the whole body in its message; `ShortErrors` cuts such a message short.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_MESSAGE_CHARS = 2000  # an error message longer than this repeats the request: cut to its start


def too_large_message(limit_bytes: int, size: int | None) -> str:
    got = f"a body of {size / 2**20:.1f} MB" if size is not None else "a body over the limit"
    return (
        f"the server accepts request bodies of at most {limit_bytes / 2**20:.1f} MB and got {got}; "
        "send the rows in several smaller requests, or start the server with a higher limit "
        "(`braid serve --max-body-mb`, or BRAID_SERVE_MAX_BODY_MB)"
    )


class BodyLimit:
    """ASGI middleware: HTTP 413 for a request body larger than `max_bytes`, before the app reads it.

    Args:
        app: the ASGI app to guard (MLflow's scoring app).
        max_bytes: the largest body accepted, in bytes.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, int(max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, too_large_message(self.max_bytes, declared))
            return
        # MLflow reads the whole body before it parses it: reading it here first costs no more memory,
        # and a chunked body (no Content-Length) is refused as soon as it passes the limit.
        chunks, received = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > self.max_bytes:
                await _refuse(send, too_large_message(self.max_bytes, None))
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ShortErrors:
    """ASGI middleware: an error answer (status >= 400) whose JSON `message` is longer than `max_chars`
    keeps its first `max_chars` characters and says how much was cut.

    Args:
        app: the ASGI app whose error answers are cut (MLflow's scoring app).
        max_chars: the longest message passed on whole.
    """

    def __init__(self, app: ASGIApp, max_chars: int = MAX_MESSAGE_CHARS) -> None:
        self.app, self.max_chars = app, max_chars

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def cutting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message  # held until the body is complete
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = self._cut(b"".join(chunks))
                headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, cutting_send)

    def _cut(self, body: bytes) -> bytes:
        try:
            parsed = json.loads(body)
        except ValueError:
            return body
        message = parsed.get("message") if isinstance(parsed, dict) else None
        if not isinstance(message, str) or len(message) <= self.max_chars:
            return body
        cut = len(message) - self.max_chars
        parsed["message"] = f"{message[: self.max_chars]} … ({cut:,} characters cut: the request is not repeated)"
        return json.dumps(parsed).encode()
