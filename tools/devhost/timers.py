"""Timer functions, fired on their schedules from background threads until told to stop."""

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime

from azure.functions.timer import TimerRequest

from .indexing import TimerFunction

logger = logging.getLogger("devhost")


def fire(timer: TimerFunction) -> None:
    """Run a timer function once and log the outcome; its exception is logged, never raised.

    Locally nothing is ever late, so `past_due` is always false, as with Core Tools.
    """
    started = time.perf_counter()
    outcome = "Succeeded"
    try:
        timer.call(TimerRequest(past_due=False))
    except Exception:
        logger.exception("Function '%s' raised an exception", timer.name)
        outcome = "Failed"
    logger.info("timer %s -> %s (%d ms)", timer.name, outcome, round((time.perf_counter() - started) * 1000))


class TimerScheduler:
    """Fires each timer function on its schedule, each from a thread of its own.

    Schedules are evaluated in the machine's local time zone, as the host does (in Azure that is
    UTC unless WEBSITE_TIME_ZONE or TZ says otherwise). A run that overruns its next occurrence
    skips it rather than piling up, and a timer never runs concurrently with itself.
    """

    def __init__(self, timers: Sequence[TimerFunction]) -> None:
        self._timers = timers
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for timer in self._timers:
            thread = threading.Thread(target=self._run, args=(timer,), name=f"timer {timer.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop scheduling and wait up to `timeout` seconds for each running invocation to end."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, timer: TimerFunction) -> None:
        if timer.run_on_startup:
            fire(timer)
        due = datetime.now().astimezone()
        while True:
            due = timer.schedule.next_after(max(due, datetime.now().astimezone()))
            if self._stopping.wait((due - datetime.now().astimezone()).total_seconds()):
                return
            fire(timer)
