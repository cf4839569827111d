"""The district API over httpx: typed requests and responses (desktop.wire), clear failures.

TLS certificates are always verified; a district with its own CA passes its CA file.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from desktop import APP_VERSION, wire
from desktop.sync.reader import parse_changes_page

_T = TypeVar("_T", bound=BaseModel)


class Offline(ConnectionError):
    """The server could not be reached (network down, server stopped, timeout)."""


class CertificateRefused(Offline):
    """The server's TLS certificate did not verify: never talk to it, say so clearly."""


class ServerRefused(RuntimeError):
    """The server answered with an error; `code` and a Chinese `message` for the clerk."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class DistrictClient:
    def __init__(
        self,
        base_url: str,
        device_token: Callable[[], str | None] | None = None,
        *,
        ca_file: Path | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        waiting: Callable[[], int | None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._device_token = device_token
        # how many outbox items wait to be sent, told to the district on every request (the
        # console shows it for each PC); None when unknown
        self._waiting = waiting
        self.session_token: str | None = None
        verify: bool | ssl.SSLContext = True
        if ca_file is not None:  # a district's own CA; verification stays on
            verify = ssl.create_default_context(cafile=str(ca_file))
        self._http = httpx.Client(base_url=self.base_url + wire.API_PREFIX, timeout=timeout,
                                  verify=verify, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DistrictClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -----------------------------------------------------------------------------

    def health(self) -> bool:
        try:
            return self._http.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    def register(self, enrolment_code: str, device_name: str) -> wire.DeviceRegistered:
        body = wire.RegisterDevice(enrolment_code=enrolment_code, device_name=device_name)
        return self._call("POST", "/devices/register", wire.DeviceRegistered, body,
                          auth=False)

    def device_info(self) -> wire.DeviceInfo:
        """What the district knows of this PC (its number in its street); device token only."""
        return self._call("GET", "/devices/me", wire.DeviceInfo)

    def login(self, username: str, password: str) -> wire.LoggedIn:
        result = self._call("POST", "/login", wire.LoggedIn,
                            wire.Login(username=username, password=password))
        self.session_token = result.session_token
        return result

    def change_password(self, current: str, new: str) -> wire.LoggedIn:
        """The signed-in user's new password; the answer is a new session (the change ends
        every other session of the user, this PC's too)."""
        result = self._call("POST", "/password", wire.LoggedIn,
                            wire.ChangePassword(current_password=current, new_password=new))
        self.session_token = result.session_token
        return result

    def register_signing_key(self, public_key: str) -> wire.SigningKeyRegistered:
        """Register the signed-in user's new public key for this PC (the session says who)."""
        return self._call("POST", "/signing-keys", wire.SigningKeyRegistered,
                          wire.RegisterSigningKey(public_key=public_key))

    def changes(self, cursor: int, limit: int, *, count: bool = False,
                next_page: Callable[[int], None] | None = None) -> wire.ChangesPage:
        """A page of changes, each change's data read with its entity's model where it can be
        (see parse_changes_page).

        `next_page(cursor)` is called as soon as the answer's headers say that more changes
        follow after `cursor` (wire.NEXT_CURSOR_HEADER), before this page's body is read and
        parsed: the pull asks for the next page then. Not called by a server that does not
        say so, nor when it is the last page."""
        params: dict[str, Any] = {"cursor": cursor, "limit": limit}
        if count:
            params["count"] = "true"
        headers_read = None if next_page is None else _announced(cursor, next_page)
        response = self._request("GET", "/changes", params=params, headers_read=headers_read)
        return _answer(response, parse_changes_page)

    def push(self, items: list[wire.OutboxItem]) -> wire.PushResult:
        return self._call("POST", "/push", wire.PushResult, wire.Push(items=items))

    def known(self, keys: list[uuid.UUID]) -> wire.KnownAnswer:
        """Which of these keys, pushed from this PC, the district holds (at most 5,000)."""
        return self._call("POST", "/push/known", wire.KnownAnswer, wire.KnownItems(keys=keys))

    # -- plumbing ----------------------------------------------------------------------------

    def _headers(self, auth: bool) -> dict[str, str]:
        headers: dict[str, str] = {wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION),
                                   wire.VERSION_HEADER: APP_VERSION}
        if self._waiting is not None:
            try:
                waiting = self._waiting()
            except Exception:  # a count the store cannot give now is no reason not to sync
                waiting = None
            if waiting is not None:
                headers[wire.WAITING_HEADER] = str(waiting)
        if auth and self._device_token is not None:
            token = self._device_token()
            if token:
                headers["Authorization"] = f"Bearer {token}"
        if auth and self.session_token:
            headers["X-Session-Token"] = self.session_token
        return headers

    def _call(
        self,
        method: str,
        path: str,
        answer: type[_T],
        body: BaseModel | None = None,
        *,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> _T:
        response = self._request(method, path, body, params=params, auth=auth)
        return _answer(response, answer.model_validate_json)

    def _request(
        self,
        method: str,
        path: str,
        body: BaseModel | None = None,
        *,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        headers_read: Callable[[httpx.Response], None] | None = None,
    ) -> httpx.Response:
        """The answer, its body read. `headers_read` is called with a successful answer as soon
        as its headers are in, before its body is read."""
        headers = self._headers(auth)
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = body.model_dump_json()
        try:
            if headers_read is None:
                response = self._http.request(method, path, params=params, headers=headers,
                                              content=content)
            else:
                request = self._http.build_request(method, path, params=params,
                                                   headers=headers, content=content)
                response = self._http.send(request, stream=True)
                try:
                    if response.status_code < 400:
                        headers_read(response)
                    response.read()
                finally:
                    response.close()
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise CertificateRefused(
                    "区服务器的证书无法验证：请检查配置的证书文件（CA）是否正确") from None
            raise Offline(f"{type(exc).__name__}: 无法连接区服务器") from None
        if response.status_code >= 400:
            raise _refusal(response)
        return response


def _announced(cursor: int, next_page: Callable[[int], None]) -> Callable[[httpx.Response], None]:
    """What reads the next cursor from a page's headers and hands it to `next_page`."""
    def read(response: httpx.Response) -> None:
        if response.headers.get(wire.MORE_HEADER) != "1":
            return
        try:
            following = int(response.headers.get(wire.NEXT_CURSOR_HEADER, ""))
        except ValueError:
            return  # not said clearly: the next page is asked for after this one's body
        if following > cursor:
            next_page(following)
    return read


def _answer(response: httpx.Response, parse: Callable[[bytes], _T]) -> _T:
    try:
        return parse(response.content)
    except ValidationError as exc:
        raise ServerRefused(response.status_code, "bad_response",
                            f"区服务器的应答无法识别（{exc.error_count()} 处不符）") from None


def _refusal(response: httpx.Response) -> ServerRefused:
    try:
        error = wire.ErrorBody.model_validate_json(response.content)
        return ServerRefused(response.status_code, error.code, error.message, error.field)
    except ValidationError:
        return ServerRefused(response.status_code, f"http_{response.status_code}",
                             f"区服务器返回错误 {response.status_code}")
