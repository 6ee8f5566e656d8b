"""Exceptions raised by the mlq client.

Every error the API answers with carries a body
``{"error": {"code": <mlq error code>, "message": "<one line>"}}``; the
exceptions keep the HTTP status, that code and that message, so a caller can
show the same one-line message the CLI would.
"""

from typing import Any, Dict, Optional, Type


class MlqError(Exception):
    """An error from the mlq API (or from reaching it).

    Attributes:
        status: the HTTP status (``None`` when the scheduler was not reached).
        code: the mlq error code from the body (``None`` when there was none).
        message: the one-line message from the body, or a description.
    """

    def __init__(self, status: Optional[int], code: Any, message: str) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return "HTTP %d: %s" % (self.status, self.message)


class InvalidRequest(MlqError):
    """400: the request was refused as invalid (same message as the CLI)."""


class Unauthorized(MlqError):
    """401: no token, or a token that is unknown, expired or revoked."""


class PermissionDenied(MlqError):
    """403: the token's role may not do this."""


class NotFound(MlqError):
    """404: no such job or worker."""


class Conflict(MlqError):
    """409: not possible in the job's current state."""


class TooLarge(MlqError):
    """413: the request body is over the server's limit."""


class Overloaded(MlqError):
    """429 or 503: the scheduler is busy; try again later."""


class Unreachable(MlqError, ConnectionError):
    """The scheduler's HTTP endpoint could not be reached at all."""


class WaitTimeout(MlqError, TimeoutError):
    """``wait()`` ran out of time before the job ended.

    Attributes:
        job: the job's last status (a dict as the API returns it), or ``None``.
    """

    def __init__(self, message: str, job: Optional[Dict[str, Any]] = None) -> None:
        MlqError.__init__(self, 408, None, message)
        self.job = job


_BY_STATUS: Dict[int, Type[MlqError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    429: Overloaded,
    503: Overloaded,
}


def error_for(status: int, code: Any, message: str) -> MlqError:
    """The exception for an HTTP error status (``MlqError`` for the others)."""
    return _BY_STATUS.get(status, MlqError)(status, code, message)
