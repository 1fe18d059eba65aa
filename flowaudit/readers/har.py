"""HAR 1.2 reader (Chrome/Firefox devtools, Charles, HTTP Toolkit, PCAPdroid, mitmproxy's HAR export)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from flowaudit.core.model import Observation, ObservationKind, Source

MAX_HAR_BYTES = 2 * 1024**3
BODY_CAP = 8 * 1024 * 1024
RESPONSE_HEAD = 512


class HarError(ValueError):
    """A file that is not a usable HAR; the message is one line."""


def _text_bytes(content: dict, cap: int) -> tuple[bytes, int]:
    text = content.get("text")
    if not isinstance(text, str) or not text:
        return b"", 0
    if content.get("encoding") == "base64":
        # decode no more than needed: the cap applies before expansion
        head = text[: (cap * 4 // 3) + 4]
        head = head[: len(head) - len(head) % 4]
        try:
            data = base64.b64decode(head, validate=False)
        except (binascii.Error, ValueError):
            data = text[:cap].encode("utf-8", "surrogatepass")
        stripped = text.rstrip()
        return data[:cap], len(stripped) * 3 // 4 - (len(stripped) - len(stripped.rstrip("=")))
    data = text.encode("utf-8", "surrogatepass")
    return data[:cap], len(data)


def _headers(items: object) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                name = item["name"]
                if name.startswith(":"):
                    continue
                headers.append((name, str(item.get("value", ""))))
    return headers


def _timestamp(value: object) -> float:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise HarError(f"entry has an invalid startedDateTime: {str(value)[:60]!r}")


def observation_from_entry(entry: dict, *, body_cap: int = BODY_CAP) -> Observation:
    request = entry.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        raise HarError("entry without request.url")
    try:
        parts = urlsplit(request["url"])
        hostname = parts.hostname
    except ValueError as exc:
        raise HarError(f"entry URL cannot be parsed ({exc}): {request['url'][:80]!r}") from None
    if not hostname:
        raise HarError(f"entry URL has no host: {request['url'][:80]!r}")
    headers = _headers(request.get("headers"))
    post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
    body, body_size = _text_bytes(post, body_cap) if post else (b"", 0)
    if not body and post and isinstance(post.get("params"), list):
        from urllib.parse import urlencode

        body = urlencode([(str(p.get("name", "")), str(p.get("value", ""))) for p in post["params"]
                          if isinstance(p, dict)]).encode()[:body_cap]
        body_size = len(body)
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    content = response.get("content") if isinstance(response.get("content"), dict) else {}
    head, _ = _text_bytes(content, RESPONSE_HEAD)
    status = response.get("status")
    status = status if isinstance(status, int) and status > 0 else None
    error = response.get("_error") or (None if status else "no response recorded")
    scheme = (parts.scheme or "http").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    size = content.get("size")
    return Observation(
        ts=_timestamp(entry.get("startedDateTime")), host=hostname, source=Source.HAR,
        kind=ObservationKind.WEBSOCKET if scheme in ("ws", "wss") else ObservationKind.REQUEST,
        method=str(request.get("method") or "GET").upper()[:16], scheme=scheme, port=port,
        path=parts.path or "/", query=parts.query, http_version=str(request.get("httpVersion") or "")[:16] or None,
        headers=headers, body=body, body_size=body_size, tls=scheme in ("https", "wss"), status=status,
        response_headers=_headers(response.get("headers")), response_head=head,
        response_size=size if isinstance(size, int) and size >= 0 else None,
        server_ip=str(entry["serverIPAddress"])[:64] if entry.get("serverIPAddress") else None,
        error=str(error)[:500] if error else None,
    )


def read_har(path: Path, *, body_cap: int = BODY_CAP, errors: list[str] | None = None) -> Iterator[Observation]:
    """Yield one observation per HAR entry; entries that cannot be read are counted in `errors`."""
    try:
        size = path.stat().st_size
        if size > MAX_HAR_BYTES:
            raise HarError(f"{path.name}: HAR larger than {MAX_HAR_BYTES // 1024**3} GB")
        with path.open("rb") as handle:
            data = json.load(handle)
    except HarError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise HarError(f"{path.name}: cannot read: {exc}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise HarError(f"{path.name}: not valid JSON (truncated or corrupt HAR?): {str(exc)[:120]}") from None
    log = data.get("log") if isinstance(data, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise HarError(f"{path.name}: JSON but not a HAR file (no log.entries)")
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            if errors is not None:
                errors.append(f"entry {number}: not an object")
            continue
        try:
            yield observation_from_entry(entry, body_cap=body_cap)
        except HarError as exc:
            if errors is not None:
                errors.append(f"entry {number}: {exc}")
