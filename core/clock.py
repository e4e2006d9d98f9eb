"""Time as stored: aware UTC, truncated to the millisecond BSON keeps.

Returning exactly what a later read gives back keeps comparisons and API answers stable (a value written and
answered at microsecond precision would differ from the same value read again).
"""

from datetime import UTC, datetime


def bson_time(moment: datetime | None = None) -> datetime:
    """`moment` (default: now) as aware UTC at millisecond precision."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
