"""The one exception type routes turn into the `{success, output, error}` envelope, and the
`ErrorCode` enumeration of every `code` a reply can carry.

The README's error-code table is checked against `ErrorCode` by tests/test_error_codes.py, which
also checks that every code literal in the source is a member.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """A stable machine-readable error key. Members are strings (`ErrorCode.X == "x"`), so replies
    and stored task records carry plain text and existing string comparisons keep working.
    `meaning` says what happened and what the client should do."""

    meaning: str

    def __new__(cls, value: str, meaning: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    @classmethod
    def of(cls, value: str) -> ErrorCode:
        """The member whose value is `value` (a member gives itself); ValueError for any other string."""
        # EnumMeta.__call__ looks the value up; mypy checks the call against the two-argument
        # __new__ that builds the members (python/mypy#10573).
        return cls(value)  # type: ignore[call-arg]

    # -- the request -------------------------------------------------------------------------
    MISSING_PARAMETER = ("missing_parameter",
                         "A required parameter is absent: add the one the message names.")
    INVALID_PARAMETER = ("invalid_parameter",
                         "A parameter has the wrong type, range or form: fix the value the message names.")
    INVALID_URL = ("invalid_url",
                   "A media or callback URL is not an http:// or https:// URL (server paths are refused; the message "
                   "says what is wrong): send a web address.")
    INVALID_COLOR = ("invalid_color", "A colour is not `#RRGGBB` or `#RGB`: send it in one of those forms.")
    INVALID_SRT = ("invalid_srt",
                   "The subtitles (text or file at `srt_url`) are not valid SRT: fix the cue the message names.")
    UNKNOWN_NAME = ("unknown_name",
                    "An effect, filter, transition, mask, font or similar name is not in the catalogue: "
                    "pick one from the matching `GET /get_*_types` list.")
    MALFORMED_JSON = ("malformed_json", "The body is not a JSON object: send one, e.g. `{\"draft_id\": \"…\"}`.")
    UNSUPPORTED_MEDIA_TYPE = ("unsupported_media_type",
                              "The body was not sent as JSON: set `Content-Type: application/json`.")
    NESTING_TOO_DEEP = ("nesting_too_deep",
                        "Lists or objects in the body are nested more than 20 levels: send a flatter value.")
    PAYLOAD_TOO_LARGE = ("payload_too_large",
                         "The body is larger than `max_body_bytes`: send less (media go by URL).")
    REQUEST_TIMEOUT = ("request_timeout",
                       "The request did not arrive in time (the client paused while sending): send it again.")
    REQUEST_LINE_TOO_LONG = ("request_line_too_long",
                             "The request line is too long: send long parameters in the JSON body.")
    HEADERS_TOO_LARGE = ("headers_too_large", "The request has too many or too large headers: send fewer.")
    BAD_REQUEST = ("bad_request",
                   "The request is not valid HTTP/1.1 the server accepts (the message says what): fix the client.")
    # -- what the request names ----------------------------------------------------------------
    DRAFT_NOT_FOUND = ("draft_not_found",
                       "No draft has this `draft_id`: use the id `/create_draft` returned, or omit it on an "
                       "`add_*` call to start a new draft.")
    TASK_NOT_FOUND = ("task_not_found",
                      "No save or render task has this `task_id`: call `/save_draft` (or `/generate_video`) "
                      "first and use the id it returns.")
    EMPTY_DRAFT = ("empty_draft", "The draft has nothing to show: add a clip, image or text, then render.")
    TRACK_NOT_FOUND = ("track_not_found",
                       "The draft has no track with this `track_name`: use one the message lists.")
    TRACK_KIND_MISMATCH = ("track_kind_mismatch",
                           "The named track holds another kind of segment: use another `track_name`.")
    SEGMENT_OVERLAP = ("segment_overlap",
                       "The clip would overlap a segment on its track: move `target_start`, shorten the clip "
                       "or use another track.")
    SEGMENT_NOT_FOUND = ("segment_not_found",
                         "The draft has no segment with this `segment_id`: take ids from the add_* replies or "
                         "`/get_timeline`.")
    SEGMENT_NOT_EDITABLE = ("segment_not_editable",
                            "No route made the segment with parameters kept (added before segments could be "
                            "edited, or imported from an app draft): remove it, or replace an imported one's "
                            "text or media with /render_template.")
    NOTHING_TO_UNDO = ("nothing_to_undo", "The draft has no change left to undo.")
    NOTHING_TO_REDO = ("nothing_to_redo", "No change was undone since the last edit, so there is nothing to redo.")
    BATCH_TOO_LARGE = ("batch_too_large",
                       "The batch has more operations than `batch_max_operations`: split it into several batches.")
    MISSING_MERGE_FIELD = ("missing_merge_field",
                           "The template has merge fields (`{{name}}`) that `merge` (and the template's `defaults`) "
                           "does not fill: add every name the message lists (`missing_fields`).")
    INVALID_ARCHIVE = ("invalid_archive",
                       "The upload is not a usable draft zip (not a zip, no draft file, a path leaving the folder, "
                       "a link, encryption): zip the app's draft folder as it is.")
    ARCHIVE_TOO_LARGE = ("archive_too_large",
                         "The draft zip (or its draft file) is larger than `import_max_bytes` allows: leave "
                         "large media out of the zip and send them later as template values.")
    INVALID_DRAFT = ("invalid_draft",
                     "The draft file in the zip is not valid CapCut/JianYing draft JSON: save the draft in the app "
                     "again and zip the folder.")
    ENCRYPTED_DRAFT = ("encrypted_draft",
                       "The draft file is encrypted (JianYing 6 and later): import a draft saved by CapCut or by "
                       "JianYing 5.9 or earlier.")
    INVALID_OTIO = ("invalid_otio",
                    "The OpenTimelineIO document is not one the service reads (not JSON, not a Timeline, a "
                    "schema it does not know, a malformed value; the message says where): export it again as "
                    "plain .otio JSON.")
    OTIO_VERSION_UNSUPPORTED = ("otio_version_unsupported",
                                "The OTIO document uses a schema version newer than OpenTimelineIO 0.18 reads: "
                                "write it with OTIO 0.18 or downgrade it (`target_schema_versions`).")
    OTIO_TOO_LARGE = ("otio_too_large",
                      "The OTIO document is past a limit (16 MiB, 10 000 items, 64 levels of nesting, 100 000 "
                      "characters in a string; the message says which): split the timeline or trim its metadata.")
    NOT_FOUND = ("not_found",
                 "No route (or saved draft to download) at this path: see `GET /docs` for the routes.")
    METHOD_NOT_ALLOWED = ("method_not_allowed",
                          "The route does not take this HTTP method: routes that change drafts are POST.")
    HTTP_ERROR = ("http_error", "Another HTTP-level refusal: the message gives the reason.")
    # -- access ----------------------------------------------------------------------------------
    UNAUTHORIZED = ("unauthorized",
                    "The API key is missing or wrong: send `Authorization: Bearer <key>` or `X-API-Key: <key>`.")
    RATE_LIMITED = ("rate_limited",
                    "Too many requests this minute for this key or address: wait the `Retry-After` seconds.")
    # -- the service -----------------------------------------------------------------------------
    NOT_READY = ("not_ready",
                 "`/readyz`: a dependency (store, job runner, storage) is unreachable; `checks` says which.")
    SERVER_BUSY = ("server_busy",
                   "The server is receiving too many large requests at once: retry after `Retry-After` seconds.")
    STORE_UNAVAILABLE = ("store_unavailable",
                         "The draft store cannot be reached and nothing was changed: retry shortly.")
    SAVE_FAILED = ("save_failed",
                   "The save failed: the message says why; `/query_draft_status` lists each file's `errors`.")
    UPLOAD_FAILED = ("upload_failed",
                     "The saved draft could not be uploaded (the message has the provider's code): save again "
                     "once the storage works.")
    INTERNAL_ERROR = ("internal_error",
                      "A fault in the service; nothing was changed: report it with the `X-Request-ID`.")
    # -- one media file (a save task's `errors`; an `srt_url` download answers them too) ----------
    FETCH_URL = ("fetch_url", "The URL is malformed (empty, bad host or port): fix it.")
    FETCH_SCHEME = ("fetch_scheme", "The URL is not http:// or https://: use a web address.")
    FETCH_FORBIDDEN = ("fetch_forbidden",
                       "The host is private, loopback or a metadata address: use a public URL (an operator can "
                       "allow hosts with `fetch_allow_hosts`).")
    FETCH_DNS = ("fetch_dns", "The host name does not resolve: check it.")
    FETCH_CONNECT = ("fetch_connect", "No connection to the host could be made: check that it is up.")
    FETCH_TLS = ("fetch_tls", "The TLS handshake or certificate check failed: the host needs a valid certificate.")
    FETCH_TIMEOUT = ("fetch_timeout",
                     "The host was too slow (one read, or the whole download past "
                     "`download_deadline_seconds`): retry or use a faster host.")
    FETCH_HTTP_STATUS = ("fetch_http_status",
                         "The host answered an HTTP error (in the message): check the URL and its access rights.")
    FETCH_TOO_LARGE = ("fetch_too_large", "The file is larger than `max_download_bytes`: use a smaller one.")
    FETCH_INCOMPLETE = ("fetch_incomplete", "The body ended before its announced length: retry.")
    FETCH_REDIRECTS = ("fetch_redirects", "More than 5 redirects: link the final URL.")
    FETCH_STORAGE = ("fetch_storage",
                     "The download could not be written to the media cache (disk full?): an operator must fix it.")
    FETCH_CANCELLED = ("fetch_cancelled", "The download was cancelled because the service is stopping: save again.")
    FETCH_FAILED = ("fetch_failed", "The download failed for another reason (in the message): retry.")
    MEDIA_NOT_IMPORTED = ("media_not_imported",
                          "A clip of an imported draft uses a file that was not in the zip: replace it "
                          "(`/render_template` `replace`) or import a zip that holds the file.")
    PROBE_FAILED = ("probe_failed", "The file is not readable media (damaged or unsupported format): fix the file.")
    WRONG_MEDIA_KIND = ("wrong_media_kind",
                        "The file is not the kind the route expects (e.g. audio at an `image_url`): use the "
                        "right route or URL.")


class ApiError(Exception):
    """A handled failure: `message` tells the client what is wrong and how to fix it.

    `code` is a stable machine-readable key (clients may branch on it); `http_status` is used
    only when the `http_error_status` setting is on — by default every reply is HTTP 200, as
    upstream, because automation clients treat any other status as a transport failure.
    A string that is not an `ErrorCode` value raises ValueError here, at the raise site.
    `details` are extra keys of the failure envelope (e.g. /batch's per-operation results).
    """

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INVALID_PARAMETER, http_status: int = 400,
                 details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = ErrorCode.of(code)
        self.http_status = http_status
        self.details = details or {}


def missing(message: str) -> ApiError:
    """A required parameter is absent (upstream's exact 'Hi, the required…' wording)."""
    return ApiError(message, code=ErrorCode.MISSING_PARAMETER, http_status=400)


def unknown_name(message: str) -> ApiError:
    return ApiError(message, code=ErrorCode.UNKNOWN_NAME, http_status=400)


def not_found(message: str, code: ErrorCode = ErrorCode.DRAFT_NOT_FOUND) -> ApiError:
    return ApiError(message, code=code, http_status=404)
