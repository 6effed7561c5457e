"""The model's queue: learners whose turn needs the model wait in line, in order, and see where they stand.

A 2-core machine runs one explanation at a time (`Settings.llm_slots` at once on a server with parallel
slots); everything else a turn does (sources, evidence, hints, paths, quiz grading) needs no model and
never waits here. A turn that wants the model takes a `Ticket`: while others are ahead it is told its
place and an estimate from the measured length of recent turns, and leaving (a closed tab, a stopped
request: the turn's generator is closed) gives the place up, or the slot if it was already generating.
Optional model work (translating a question, writing a quiz question) runs only when a slot is free
and nobody waits (`ModelQueue.now`); otherwise the turn does without it.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Iterator

from core.errors import TutorError

FIRST_GUESS = 20.0  # seconds a model turn takes, until one has been measured (1.5B model, 2 cores)
_SMOOTHING = 0.3  # weight of the latest turn in the running mean
# Seconds between two "still waiting" updates: each is a message to the learner's browser, and with a class
# waiting they add up on 2 cores; a learner who left is noticed within this.
POLL = 2.5


class QueueFull(TutorError):
    """More learners wait for the model than `max_waiting`: the turn goes on without it."""


@dataclass(frozen=True)
class Place:
    """Where a waiting turn stands: `ahead` turns before it (running or waiting), about `seconds` to go."""

    ahead: int
    seconds: float


class ModelQueue:
    """First come, first served access to the model's `slots`.

    Example:
        >>> queue = ModelQueue(slots=1)
        >>> with queue.ticket() as ticket:
        ...     for place in ticket.wait():
        ...         print(place.ahead)  # shown to the learner while others use the model
        ...     pass  # use the model here
    """

    def __init__(self, slots: int = 1, max_waiting: int = 16) -> None:
        self.slots, self.max_waiting = max(1, slots), max(0, max_waiting)
        self._cond = threading.Condition()
        self._line: collections.deque[Ticket] = collections.deque()
        self._running = 0
        self._mean = FIRST_GUESS

    def ticket(self) -> "Ticket":
        """A place at the end of the line.

        Raises:
            QueueFull: `max_waiting` turns already wait.
        """
        with self._cond:
            if len(self._line) >= self.max_waiting and self._running >= self.slots:
                raise QueueFull(f"{len(self._line)} learners are already waiting for the model")
            ticket = Ticket(self)
            self._line.append(ticket)
            return ticket

    def now(self) -> "Ticket | None":
        """A slot at once if the model is idle (nothing decoding, nobody waiting), else None.

        For work a turn can do without (translating the question, a quiz question in the model's words):
        beside other learners' decoding it would share the 2 cores and keep this learner's sources waiting
        for tens of seconds (measured: 25 s once, with 3 slots busy).
        """
        with self._cond:
            if self._line or self._running:
                return None
            ticket = Ticket(self)
            ticket._take()
            return ticket

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._line)

    @property
    def running(self) -> int:
        with self._cond:
            return self._running

    @property
    def mean_seconds(self) -> float:
        """The running mean of how long a turn held a slot."""
        with self._cond:
            return self._mean

    def _place(self, ticket: "Ticket") -> Place:
        ahead = self._line.index(ticket) + self._running
        # (turns ahead go through `slots` at a time; a running one is on average half done)
        return Place(ahead, self._mean * (ahead + 1 - 0.5 * min(self._running, self.slots)) / self.slots)

    def _done(self, seconds: float) -> None:
        self._mean = (1 - _SMOOTHING) * self._mean + _SMOOTHING * seconds


class Ticket:
    """One turn's claim on the model; a context manager that always gives back what it holds."""

    def __init__(self, queue: ModelQueue) -> None:
        self._queue = queue
        self._started = 0.0
        self.holding = False

    def wait(self, poll: float = POLL) -> Iterator[Place]:
        """Yield this turn's place when it moves up, and at least every `poll` seconds, until it holds a slot.

        The regular yields matter: a turn is stopped (its generator closed) only where it yields, so a
        learner who left is taken out of the line within `poll` seconds, before reaching the model.
        """
        queue = self._queue
        last, shown = None, 0.0
        with queue._cond:
            while not self.holding:
                if queue._line[0] is self and queue._running < queue.slots:
                    queue._line.popleft()
                    self._take()
                    queue._cond.notify_all()  # with several slots, the next in line may start too
                    break
                place, now = queue._place(self), time.monotonic()
                if place != last or now - shown >= poll:
                    last, shown = place, now
                    queue._cond.release()
                    try:
                        yield place  # (a closed generator leaves here; `__exit__` gives the place up)
                    finally:
                        queue._cond.acquire()
                    continue
                queue._cond.wait(poll - (now - shown))

    def _take(self) -> None:  # caller holds the lock
        self._queue._running += 1
        self._started = time.perf_counter()
        self.holding = True

    def release(self) -> None:
        """Give up the place in line, or the slot and record how long it was held."""
        queue = self._queue
        with queue._cond:
            if self.holding:
                self.holding = False
                queue._running -= 1
                queue._done(time.perf_counter() - self._started)
            elif self in queue._line:
                queue._line.remove(self)
            queue._cond.notify_all()

    def __enter__(self) -> "Ticket":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def waiting_text(place: Place, lang: str) -> str:
    """What a waiting learner reads: where they stand and about how long the explanation takes to start."""
    seconds = max(5, int(round(place.seconds / 5.0)) * 5)
    if lang == "zh":
        return f"⏳ 讲解排队中：前面还有 {place.ahead} 位同学，约 {seconds} 秒后开始。上面的来源原文已经可以先读。"
    ahead = "1 learner is" if place.ahead == 1 else f"{place.ahead} learners are"
    return f"⏳ Explanation queued: {ahead} ahead of you, about {seconds} s to go. The sources' sentences above are ready to read."


def busy_text(waiting: int, lang: str) -> str:
    """Said under an answer given without the model because too many learners wait for it."""
    if lang == "zh":
        return f"_（现在有 {waiting} 位同学在等模型讲解，这次只给出来源原文；稍后再问一次可以得到讲解。）_"
    return (f"_({waiting} learners are waiting for the model, so this answer is the sources' sentences alone; "
            f"ask again in a little while for an explanation.)_")
