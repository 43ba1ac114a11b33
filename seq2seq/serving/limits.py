"""What the service refuses, and how: an API key, a body size limit, one JSON error shape."""

from __future__ import annotations

import hmac
import json

from fastapi import Request
from fastapi.responses import JSONResponse


class Refused(Exception):
    """A request the service will not answer: the status, the field at fault, why."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def refusal(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"field": field, "message": message}}, status_code=status)


def api_key_check(key: str | None):
    """A FastAPI dependency: with a key set, requests must carry it (Authorization: Bearer KEY
    or X-API-Key: KEY), else 401."""

    async def check(request: Request) -> None:
        if not key:
            return
        given = request.headers.get("x-api-key") or ""
        bearer = request.headers.get("authorization") or ""
        if bearer.lower().startswith("bearer "):
            given = given or bearer[7:].strip()
        if not hmac.compare_digest(given.encode(), key.encode()):
            raise Refused(401, "authorization", "a valid API key is required "
                          "(Authorization: Bearer KEY or X-API-Key: KEY)")

    return check


class BodyLimit:
    """ASGI middleware: a body over limit bytes (by Content-Length, or as it streams in) is
    answered 413 without reading more of it; a smaller one is passed on."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def _send_error(self, send, status: int, message: str) -> None:
        body = json.dumps({"error": {"field": "body", "message": message}}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = f"request body over {self.limit:,} bytes (serve.max_body_bytes)"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await self._send_error(send, 400, "Content-Length is not a number")
            if int(declared) > self.limit:
                return await self._send_error(send, 413, too_large)
        chunks, seen = [], 0
        while True:  # read the body (at most limit + one chunk) before the app sees it
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, receive, send)  # the client went away
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.limit:
                return await self._send_error(send, 413, too_large)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
