"""Errors in Google's JSON shape: {"error": {"code", "message", "status", "details"?}}."""
from __future__ import annotations

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
    502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

DEFAULT_MESSAGES = {
    429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user'.",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "Deadline exceeded.",
}


class ApiError(Exception):
    """An error answer; raised anywhere in the emulator, turned into JSON by the server."""

    def __init__(self, code: int, message: str | None = None, status: str | None = None,
                 details: list | None = None):
        super().__init__(message)
        self.code = code
        self.message = message or DEFAULT_MESSAGES.get(code, "Error")
        self.status = status or STATUS_BY_CODE.get(code, "UNKNOWN")
        self.details = details

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid_argument(message: str, violations: list[tuple[str, str]] | None = None) -> ApiError:
    """400 INVALID_ARGUMENT, with a google.rpc.BadRequest detail listing field violations."""
    details = None
    if violations:
        details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": f, "description": d} for f, d in violations]}]
    return ApiError(400, message, "INVALID_ARGUMENT", details)


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, "FAILED_PRECONDITION")


def not_found(message: str = "Requested entity was not found.") -> ApiError:
    return ApiError(404, message, "NOT_FOUND")
