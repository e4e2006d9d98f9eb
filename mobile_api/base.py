"""The base handler every endpoint inherits: request id, bounded JSON bodies, and JSON errors.

The body is streamed (`stream_request_body`) so that an oversized request is answered with a JSON 413 as soon as
its Content-Length is known, rather than Tornado's bare 400 after buffering. No handler ever writes a stack trace
or an HTML page: every failure leaves through `write_error` as `{"errcode", "errmsg", "request_id"}`.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from weakref import WeakKeyDictionary

import structlog
from pydantic import BaseModel
from tornado.web import HTTPError, RequestHandler, stream_request_body

from accounts.scopes import require_resident
from core import errors as E
from core.errors import AppError
from core.jsonbody import parse_json
from core.validation import validate

if TYPE_CHECKING:
    from accounts.identity import Principal
    from accounts.staff import StaffAccount
    from config.wiring import Dependencies
    from mobile_api.observability import InFlight

M = TypeVar("M", bound=BaseModel)
log = structlog.get_logger("mobile_api")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_JSON_TYPE_RE = re.compile(r"^application/([a-z0-9.+-]+\+)?json\s*(;.*)?$", re.IGNORECASE)
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_BODIES: WeakKeyDictionary[object, tuple[bytes, str]] = WeakKeyDictionary()  # `send_as`: pages still in use


@stream_request_body
class BaseHandler(RequestHandler):
    route = "unmatched"
    request_id = ""
    # HTTP methods of this handler a staff member may call while their initial password must still be changed
    # (accounts/staff_password.py); every other staff request is refused then with PASSWORD_CHANGE_REQUIRED.
    allowed_before_password_change: ClassVar[frozenset[str]] = frozenset()
    # The largest body this handler accepts; None: the JSON limit (ZSB_MAX_JSON_BODY_BYTES). An upload endpoint
    # sets its own, and the same checks apply: 413 from Content-Length before reading, or while streaming.
    max_body_bytes: ClassVar[int | None] = None

    def initialize(self, route: str = "unmatched", **_: Any) -> None:
        self.route = route
        self._chunks: list[bytes] = []
        self._received = 0
        self._too_large = False
        self._principal: Principal | None = None
        self._staff: StaffAccount | None = None
        self._in_flight: InFlight = self.application.settings["in_flight"]
        self._in_flight.enter()
        self._counted = True
        offered = self.request.headers.get("X-Request-ID", "")
        # Not a secret, only unique: a PRNG draw avoids a getrandom(2) call on every request.
        self.request_id = offered if _REQUEST_ID_RE.match(offered) else f"{random.getrandbits(96):024x}"

    # -- plumbing -------------------------------------------------------------------------------------------
    @property
    def deps(self) -> Dependencies:
        return self.application.settings["deps"]

    @property
    def max_body(self) -> int:
        return self.max_body_bytes or self.application.settings["max_json_body_bytes"]

    def _body_too_large(self) -> AppError:
        limit = self.max_body
        size = f"{limit // 1048576} MB" if limit % 1048576 == 0 else f"{limit // 1024} KB"
        return AppError(E.BODY_TOO_LARGE, f"请求内容不能超过 {size}")

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", JSON_CONTENT_TYPE)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def prepare(self) -> None:  # plain, not async: it runs on every request and awaits nothing
        self.set_header("X-Request-ID", self.request_id)
        declared = self.request.headers.get("Content-Length")
        if declared is not None and int(declared) > self.max_body:
            raise self._body_too_large()

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.max_body:
            self._too_large = True
            self._chunks.clear()
        elif not self._too_large:
            self._chunks.append(chunk)

    @property
    def body(self) -> bytes:
        if self._too_large:
            raise self._body_too_large()
        return b"".join(self._chunks)

    def on_finish(self) -> None:
        if self._counted:
            self._counted = False
            self._in_flight.leave()

    # -- who is calling ------------------------------------------------------------------------------------
    async def principal(self) -> Principal:
        """The authenticated caller; 401 with a specific errcode when the bearer token is missing or bad.

        For a staff token this is also the one gate of the staff account's state, whatever the endpoint: the
        account is read fresh and a disabled one is refused, and so is any call not marked
        `allowed_before_password_change` while the initial password is unchanged."""
        if self._principal is None:
            scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AppError(E.UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
            principal = await self.deps.identity.authenticate(token.strip())
            if principal.is_staff:
                allowed = self.request.method in self.allowed_before_password_change
                self._staff = await self.deps.staff_admin.current(principal, allowed_before_password_change=allowed)
            self._principal = principal
        return self._principal

    async def resident(self) -> Principal:
        """The caller, who must be a person (resident, parent): a staff token gets 403 RESIDENT_ONLY, so a staff
        account id is never used as a person id (e.g. binding a citizen ID to a staff account)."""
        principal = await self.principal()
        require_resident(principal)
        return principal

    async def staff_account(self) -> StaffAccount:
        """The caller's staff account, read fresh by `principal()`: 403 STAFF_ONLY for a resident's token.
        Scope decisions then use `account.actor()` with `accounts.scopes.authorize`."""
        principal = await self.principal()
        if self._staff is None:
            return await self.deps.staff_admin.current(principal)  # not staff: raises STAFF_ONLY
        return self._staff

    @property
    def device(self) -> str:
        """A label for the login-session list ("my devices"): the client's own name for itself, or its UA."""
        return (self.request.headers.get("X-Device-Name") or self.request.headers.get("User-Agent") or "")[:120]

    # -- request and response helpers ----------------------------------------------------------------------
    def json_body(self) -> Any:
        """The parsed JSON body; 415 for another content type, 400 for malformed or too-deep input."""
        body = self.body
        content_type = self.request.headers.get("Content-Type", "")
        if not _JSON_TYPE_RE.match(content_type):
            raise AppError(E.UNSUPPORTED_MEDIA_TYPE)
        return parse_json(body, max_depth=self.application.settings["max_json_depth"])

    def raw_body(self, media_type: str, what: str) -> bytes:
        """The body of an upload, as bytes; 415 naming the expected type (`what` says it in words) otherwise."""
        body = self.body
        if self.request.headers.get("Content-Type", "").split(";")[0].strip().lower() != media_type:
            raise AppError(E.UNSUPPORTED_MEDIA_TYPE, errmsg=f"请求内容类型须为 {media_type}（{what}）")
        return body

    def parse(self, model: type[M]) -> M:
        """The JSON body validated against `model`; every bad field is reported at once (422)."""
        return validate(model, self.json_body())

    def send(self, payload: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> None:
        self.set_status(status)
        if isinstance(payload, BaseModel):
            self.finish(payload.model_dump_json(by_alias=True))
        else:
            self.finish(json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str))

    def send_as(self, page: object, model: type[BaseModel]) -> None:
        """`send(model.model_validate(page))` for an immutable page object (attributes), its JSON and ETag made
        once per object: a service handing out the same page again (the inbox's first page) is not serialized
        or hashed again."""
        made = _BODIES.get(page)
        if made is None:
            body = model.model_validate(page, from_attributes=True).model_dump_json(by_alias=True).encode()
            made = _BODIES[page] = (body, f'"{hashlib.sha1(body).hexdigest()}"')  # noqa: S324 - Tornado's ETag
        self.set_status(200)
        self.set_header("Etag", made[1])  # as Tornado would compute it; If-None-Match still gets its 304
        self.finish(made[0])

    # -- errors ---------------------------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        body: dict[str, Any]
        if isinstance(exc, AppError):
            self.set_status(exc.status)
            for name, value in exc.headers.items():
                self.set_header(name, value)
            body = {"errcode": exc.error.code, "errmsg": exc.message, "request_id": self.request_id}
            if exc.errors:
                body["errors"] = [e.as_dict() for e in exc.errors]
            body.update(exc.extra)
        else:
            error = E.for_status(status_code)
            if error is E.INTERNAL_ERROR and status_code != 500:
                self.set_status(500)
            body = {"errcode": error.code, "errmsg": error.message, "request_id": self.request_id}
        self.set_header("Content-Type", JSON_CONTENT_TYPE)
        self.set_header("X-Request-ID", self.request_id)
        self.finish(json.dumps(body, ensure_ascii=False, separators=(",", ":")))

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, AppError | HTTPError):
            return  # expected outcomes, counted in the request log line with their status
        log.error("unhandled_exception", request_id=self.request_id, route=self.route,
                  method=self.request.method, exc_info=(typ, value, tb))


class NotFoundHandler(BaseHandler):
    """Every unknown path: a JSON 404 whatever the method."""

    def prepare(self) -> None:
        super().prepare()
        raise AppError(E.NOT_FOUND)
