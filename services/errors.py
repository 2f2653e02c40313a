"""The one exception type routes turn into the `{success, output, error}` envelope."""


class ApiError(Exception):
    """A handled failure: `message` tells the client what is wrong and how to fix it.

    `code` is a stable machine-readable key (clients may branch on it); `http_status` is used
    only when the `http_error_status` setting is on — by default every reply is HTTP 200, as
    upstream, because automation clients treat any other status as a transport failure.
    """

    def __init__(self, message: str, code: str = "invalid_parameter", http_status: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


def missing(message: str) -> ApiError:
    """A required parameter is absent (upstream's exact 'Hi, the required…' wording)."""
    return ApiError(message, code="missing_parameter", http_status=400)


def unknown_name(message: str) -> ApiError:
    return ApiError(message, code="unknown_name", http_status=400)


def not_found(message: str, code: str = "draft_not_found") -> ApiError:
    return ApiError(message, code=code, http_status=404)
