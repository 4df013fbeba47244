"""Shared pieces of the center's HTTP handlers: the application keys, problem+json, request validation,
JSON, time.

Everything here lies below the route modules and ``mock_relay.app``: a route module imports this and
``mock_relay.center``, never the app that registers it. The problem table (HTTP status, retryable,
reason per code) and the request-body schemas are read from
``openapi.yaml`` itself, so the server cannot drift from its published contract.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.resources
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import jsonschema_rs
import yaml
from aiohttp import web
from jsonschema import Draft202012Validator

from mock_relay.center import Center

log = logging.getLogger(__name__)

CENTER_KEY: web.AppKey[Center] = web.AppKey("center", Center)
HTTP_KEY: web.AppKey[aiohttp.ClientSession] = web.AppKey("http", aiohttp.ClientSession)

PROBLEM_TYPE = "application/problem+json"
MAX_JSON_DEPTH = 16  # the deepest request body of the contract is 5 levels
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # only an escape can put a surrogate in a string
_SURROGATE = re.compile("[\ud800-\udfff]")
# The verified terminal id in request storage (aiohttp >= 3.13 prefers typed request keys).
TERMINAL: Any = web.RequestKey("terminal_id", str) if hasattr(web, "RequestKey") else "terminal_id"


@dataclass(frozen=True)
class CodeInfo:
    """One row of ``x-error-codes``."""

    status: int
    retryable: bool
    reason: str


@functools.cache
def spec() -> dict[str, Any]:
    """The parsed openapi.yaml (cached)."""
    text = importlib.resources.files("mock_relay").joinpath("openapi.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


@functools.cache
def error_codes() -> dict[str, CodeInfo]:
    """``x-error-codes`` as a dict."""
    return {
        code: CodeInfo(int(v["status"]), bool(v["retryable"]), str(v["reason"]))
        for code, v in spec()["x-error-codes"].items()
    }


def _root(schema_name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema_name}", "components": spec()["components"]}


@functools.cache
def _validator(schema_name: str) -> Draft202012Validator:
    """The reference validator (pure Python): it words the error of a body that fails."""
    return Draft202012Validator(_root(schema_name))


@functools.cache
def _fast_validator(schema_name: str) -> Any:
    """The same schema compiled by jsonschema-rs: it decides whether a body passes (about 100 times
    faster than the reference validator, which then runs only for a body that fails, to word why)."""
    return jsonschema_rs.Draft202012Validator(_root(schema_name))


class ApiProblem(Exception):
    """Raised by handlers; becomes an RFC 9457 answer. ``code`` must be in ``x-error-codes``."""

    def __init__(self, code: str, detail: str, *, status: int | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status


def problem_body(
    code: str, detail: str, *, status: int | None = None, instance: str | None = None
) -> dict[str, Any]:
    """The problem object for ``code`` (an unknown code is reported as internal_error, and logged)."""
    info = error_codes().get(code)
    if info is None:
        log.error("problem code %r is not in openapi.yaml x-error-codes", code)
        info, detail, code = error_codes()["internal_error"], f"{code}: {detail}", "internal_error"
    body: dict[str, Any] = {
        "type": f"urn:myna-kiosk:problem:{code}",
        "title": code.replace("_", " "),
        "status": status or info.status,
        "detail": detail,
        "code": code,
        "retryable": info.retryable,
        "reason": info.reason,
    }
    if instance:
        body["instance"] = instance
    return body


def problem_response(
    code: str, detail: str, *, status: int | None = None, instance: str | None = None
) -> web.Response:
    """A problem+json response."""
    body = problem_body(code, detail, status=status, instance=instance)
    return web.Response(
        status=body["status"],
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type=PROBLEM_TYPE,
    )


def json_response(obj: Any, status: int = 200) -> web.Response:
    """A compact UTF-8 JSON response."""
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return web.Response(status=status, body=data, content_type="application/json")


def parse_json(raw: bytes) -> Any:
    """The JSON value in ``raw`` (None for an empty body).

    Raises ApiProblem ``bad_request`` for anything that is not JSON a client could mean: invalid UTF-8 or
    syntax, nesting deeper than ``MAX_JSON_DEPTH``, an integer too long to convert, a lone surrogate escape
    (``"\\ud800"``: valid JSON syntax, but no text).
    """
    if not raw.strip():
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ApiProblem("bad_request", "the body is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and int() of too many digits
        raise ApiProblem("bad_request", f"the body is not JSON a client could mean: {exc}"[:200]) from None
    if _depth(value) > MAX_JSON_DEPTH:  # the schema validator recurses too: refuse before it runs
        raise ApiProblem("bad_request", f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
    if _ESCAPED_SURROGATE.search(raw) and _holds_lone_surrogate(value):
        raise ApiProblem("bad_request", "a JSON string of the body holds a lone surrogate escape (not text)")
    return value


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether a string or key in ``value`` holds a surrogate code point. json.loads joins an escaped
    pair into one character, so any left is lone: it cannot be encoded as UTF-8 again (the validator,
    the ledger and every answer would fail on it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


async def read_body(request: web.Request, schema_name: str) -> dict[str, Any]:
    """The request's JSON object, validated against ``components/schemas/<schema_name>``.

    Raises ApiProblem ``bad_request`` for a non-JSON body or a schema violation.
    """
    return validate_body(await request.read(), schema_name)


def validate_body(raw: bytes, schema_name: str) -> dict[str, Any]:
    """The JSON object in ``raw``, validated against ``components/schemas/<schema_name>`` (what
    :func:`read_body` does with a request's body; the fuzzer calls it without a server).

    Raises ApiProblem ``bad_request`` for a non-JSON body or a schema violation.
    """
    body = parse_json(raw)
    if body is None:
        raise ApiProblem("bad_request", "a JSON object body is required")
    if not _fast_validator(schema_name).is_valid(body):
        error = next(iter(_validator(schema_name).iter_errors(body)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            raise ApiProblem("bad_request", f"{where}: {error.message}"[:300])
        fast = next(iter(_fast_validator(schema_name).iter_errors(body)), None)
        raise ApiProblem(
            "bad_request", f"(body): {getattr(fast, 'message', 'does not match the schema')}"[:300]
        )
    assert isinstance(body, dict)
    return body


def warm_validators() -> None:
    """Parse openapi.yaml and compile every request schema now, not in a kiosk's first request."""
    for name in spec()["components"]["schemas"]:
        if name.endswith("Request"):
            _fast_validator(name)
            _validator(name)


def b64decode_field(value: str, name: str) -> bytes:
    """Standard or URL-safe base64 (padding optional). Raises ApiProblem ``bad_request``."""
    try:
        cleaned = value.strip().replace("-", "+").replace("_", "/")
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiProblem("bad_request", f"{name} is not base64") from exc


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def iso(moment: datetime) -> str:
    """RFC 3339 with offset, second precision."""
    return moment.replace(microsecond=0).isoformat()


def route_name(request: web.Request) -> str:
    """The operationId the request matched (or its path)."""
    return request.match_info.route.name or request.path


def terminal_of(request: web.Request) -> str:
    """The verified terminal id of this request (set by the TLS middleware). Raises ApiProblem if absent."""
    terminal = request.get(TERMINAL)
    if not isinstance(terminal, str):
        raise ApiProblem("certificate_untrusted", "no verified terminal certificate on this connection")
    return terminal
