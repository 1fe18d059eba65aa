"""Dashboard protection: security headers, CSRF double-submit, and the access token for non-loopback binds."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from flowaudit.db.models import SettingRow

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
CSRF_COOKIE = "flowaudit_csrf"
CSRF_HEADER = "x-csrf-token"
TOKEN_COOKIE = "flowaudit_token"  # noqa: S105 - a cookie name
TOKEN_SETTING = "dashboard_token_sha256"  # noqa: S105 - a settings key
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_token(db: Session) -> str | None:
    """Create the access token on first use; returns it once (None when one already exists)."""
    if db.get(SettingRow, TOKEN_SETTING) is not None:
        return None
    token = secrets.token_urlsafe(24)
    db.add(SettingRow(key=TOKEN_SETTING, value=hash_token(token)))
    db.commit()
    return token


def reset_token(db: Session) -> str:
    row = db.get(SettingRow, TOKEN_SETTING)
    if row is not None:
        db.delete(row)
        db.commit()
    token = ensure_token(db)
    assert token is not None
    return token


def stored_token_hash(db: Session) -> str | None:
    row = db.get(SettingRow, TOKEN_SETTING)
    return row.value if row else None


class SecurityMiddleware(BaseHTTPMiddleware):
    """Headers on every response; CSRF check on every state-changing request; token check when required."""

    def __init__(self, app, token_hash: str | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(app)
        self.token_hash = token_hash

    def _authorised(self, request: Request) -> bool:
        if self.token_hash is None:
            return True
        supplied = request.cookies.get(TOKEN_COOKIE) or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            supplied = auth[7:].strip()
        return bool(supplied) and hmac.compare_digest(hash_token(supplied), self.token_hash)

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if not self._authorised(request) and not path.startswith(("/login", "/static/")):
            if path.startswith("/api/"):
                response: Response = JSONResponse({"detail": "access token required"}, status_code=401)
            else:
                response = PlainTextResponse("flowaudit: open /login?token=<access token> first", status_code=401)
            return self._headers(response, request)
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("origin")
            host = request.headers.get("host", "")
            if origin and origin.split("://", 1)[-1] != host:
                return self._headers(JSONResponse({"detail": "cross-origin request refused"}, status_code=403), request)
            cookie = request.cookies.get(CSRF_COOKIE, "")
            header = request.headers.get(CSRF_HEADER, "")
            if not cookie or not hmac.compare_digest(cookie, header):
                return self._headers(JSONResponse({"detail": "missing or wrong CSRF token"}, status_code=403), request)
        response = await call_next(request)
        return self._headers(response, request)

    def _headers(self, response: Response, request: Request) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), httponly=False, samesite="strict")
        return response
