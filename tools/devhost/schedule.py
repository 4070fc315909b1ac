"""Timer schedules, read as the Functions host reads NCRONTAB expressions."""

from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

from .errors import DevhostError


@dataclass(frozen=True)
class Schedule:
    """An NCRONTAB expression: six fields with seconds first, or the classic five without seconds.

    The host decides by counting fields, so does this. croniter reads six fields as seconds-last
    unless told otherwise, hence `second_at_beginning`.
    """

    text: str

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment`, in `moment`'s time zone."""
        has_seconds = len(self.text.split()) == 6
        return croniter(self.text, moment, second_at_beginning=has_seconds).get_next(datetime)


def parse_schedule(text: str) -> Schedule:
    """Check `text` is an NCRONTAB expression croniter can follow, so a bad one fails at startup."""
    if len(text.split()) not in (5, 6):
        raise DevhostError(f"schedule '{text}' is not an NCRONTAB expression of six fields (seconds first)")
    schedule = Schedule(text)
    try:
        schedule.next_after(datetime.now().astimezone())
    except ValueError as error:
        raise DevhostError(f"schedule '{text}' is not a valid NCRONTAB expression: {error}") from error
    return schedule
