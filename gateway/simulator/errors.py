"""The simulator's errors, each sent in OpenAI's shape `{"error": {message, type, param, code}}`.

    SimulatorError            (500 server_error)
    ├── BadRequest            (400 invalid_request_error)
    ├── InvalidApiKey         (401 invalid_api_key)
    ├── ModelNotFound         (404 model_not_found)
    └── NotFound              (404 not_found / 405 method_not_allowed)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class SimulatorError(Exception):
    status_code = 500
    error_type = "server_error"
    code: str | None = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return error_response(
            self.status_code, self.message, self.error_type, self.param, self.code, self.headers
        )


class BadRequest(SimulatorError):
    status_code = 400
    error_type = "invalid_request_error"
    code = None


class InvalidApiKey(SimulatorError):
    status_code = 401
    error_type = "invalid_request_error"
    code = "invalid_api_key"


class ModelNotFound(SimulatorError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "model_not_found"

    def __init__(self, model: str):
        super().__init__(
            f"The model `{model}` does not exist or you do not have access to it.", param="model"
        )


class NotFound(SimulatorError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


def error_body(
    message: str, error_type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_response(
    status: int,
    message: str,
    error_type: str,
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A JSON response carrying one OpenAI-shaped error."""
    return json_response(error_body(message, error_type, param, code), status, headers)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )
