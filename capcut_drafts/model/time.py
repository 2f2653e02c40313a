"""Time: integer microseconds, the one seconds → µs conversion, and TimeRange.

The API speaks seconds (JSON numbers); the document, the operation log and the app JSON speak
integer microseconds. Every route converts a time through `to_us`, and a client's (start, end)
pair through `seconds_range`, so the range check, the rounding and the "end after start" rule
are the same everywhere.
"""
from __future__ import annotations

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model.lean import Lean, lean

US_PER_SECOND = 1_000_000
MAX_SECONDS = 10 ** 7      # about 115 days: far beyond any edit, far below float overflow


def to_us(seconds: float) -> int:
    """Seconds to integer microseconds, rounded like upstream (via the decimal text).

    ApiError (invalid_parameter) beyond ±MAX_SECONDS. NaN fails the same check; requests refuse
    NaN and infinities before they get here (routes/schema.py), this is the second line."""
    value = float(f"{seconds}")
    if not -MAX_SECONDS <= value <= MAX_SECONDS:
        raise ApiError(f"A time of {seconds} s is out of range; times must be within ±{MAX_SECONDS} seconds.",
                       code=ErrorCode.INVALID_PARAMETER)
    return round(value * US_PER_SECOND)


@lean(frozen=True)
class TimeRange(Lean):
    """A stretch of the timeline or of a media file: [start_us, start_us + duration_us).

    `duration_us` None is an *open* range: "to the end of the media", whose length is unknown
    until the media is probed. An open range occupies no time until it is resolved (`closed`):
    its `end_us` is its start, and like a range of length ≤ 0 it overlaps and contains nothing
    (upstream's rule, which lets open clips be placed anywhere)."""
    start_us: int
    duration_us: int | None = None

    @property
    def is_open(self) -> bool:
        return self.duration_us is None

    @property
    def length_us(self) -> int:
        """The duration, 0 while open."""
        return self.duration_us or 0

    @property
    def end_us(self) -> int:
        return self.start_us + self.length_us

    @property
    def is_empty(self) -> bool:
        """Open or of length ≤ 0: occupies no time."""
        return self.duration_us is None or self.duration_us <= 0

    def overlaps(self, other: TimeRange) -> bool:
        """Whether the two half-open ranges share time; empty ranges share none."""
        if self.is_empty or other.is_empty:
            return False
        return self.start_us < other.end_us and other.start_us < self.end_us

    def contains(self, time_us: int) -> bool:
        """Whether `time_us` falls in [start_us, end_us); an empty range contains no time."""
        return not self.is_empty and self.start_us <= time_us < self.end_us

    def closed(self, duration_us: int) -> TimeRange:
        """The same start with a known duration (an open range resolved)."""
        return TimeRange(start_us=self.start_us, duration_us=duration_us)


def seconds_range(start: float, end: float | None) -> TimeRange:
    """A client's (start, end) in seconds as a TimeRange; `end` None leaves it open.

    The one "end after start" check of every route, with one message."""
    start_us = to_us(start)
    if end is None:
        return TimeRange(start_us=start_us)
    end_us = to_us(end)
    if end_us <= start_us:
        raise ApiError(f"Invalid parameters 'start'/'end': end ({end}) must be greater than start ({start}).",
                       code=ErrorCode.INVALID_PARAMETER)
    return TimeRange(start_us=start_us, duration_us=end_us - start_us)
