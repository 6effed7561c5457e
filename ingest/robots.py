"""robots.txt rules of one site, read the way RFC 9309 says.

The crawler fetches `/robots.txt` once per origin and asks these rules
before every request. How the answer to that fetch is read (RFC 9309 2.3.1):

- 2xx: the file's rules apply (for our user agent, else `*`);
- 4xx (401 and 403 included): there are no rules, everything may be fetched;
- 5xx or no answer at all: the site is "unreachable" and must be treated as
  disallowing everything, so its pages fail with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.robotparser import RobotFileParser

MAX_BYTES = 500_000  # RFC 9309 2.5: parse at least 500 KiB; we stop there
MAX_DELAY = 30.0  # a Crawl-delay above this is capped: one page per 30 s is polite enough


@dataclass(frozen=True)
class Robots:
    """The rules for one origin: a parsed file, "everything allowed", or a refusal reason."""

    parser: RobotFileParser | None = None
    refusal: str = ""  # set when everything is disallowed because robots.txt could not be read
    delays: tuple[tuple[str, float], ...] = ()  # (user-agent token, Crawl-delay seconds)

    def allows(self, url: str, agent: str) -> bool:
        if self.refusal:
            return False
        return self.parser is None or self.parser.can_fetch(agent, url)

    def delay(self, agent: str) -> float:
        """The site's Crawl-delay for `agent` in seconds (0 if none), capped at MAX_DELAY."""
        agent = agent.lower()
        ours = [d for token, d in self.delays if token != "*" and token in agent]
        default = [d for token, d in self.delays if token == "*"]
        value = (ours or default or [0.0])[0]
        return min(max(value, 0.0), MAX_DELAY)


def robots_from_answer(status: int, body: bytes = b"", problem: str = "") -> Robots:
    """Rules from the answer to a robots.txt request.

    Args:
        status: the final HTTP status (0 when the request failed: see `problem`).
        body: the file's bytes (only read for a 2xx status).
        problem: why there was no answer (network error, timeout).
    """
    if 200 <= status < 300:
        parser = RobotFileParser()
        # Lenient decoding: a stray byte in a comment must not lose the whole file.
        lines = body[:MAX_BYTES].decode("utf-8", errors="replace").splitlines()
        parser.parse(lines)
        return Robots(parser=parser, delays=_crawl_delays(lines))
    if 400 <= status < 500:
        return Robots()
    why = f"HTTP {status}" if status else (problem or "no answer")
    return Robots(refusal=f"robots.txt could not be read ({why}), so the site counts as disallowing all "
                          "crawling (RFC 9309); try again later")


def _crawl_delays(lines: list[str]) -> tuple[tuple[str, float], ...]:
    """(agent, seconds) for every Crawl-delay line, by the group's user agents.

    Read here because urllib.robotparser only understands whole seconds,
    and "Crawl-delay: 0.5" is common.
    """
    found, agents, in_rules = [], [], False
    for line in lines:
        key, _, value = line.split("#", 1)[0].partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if in_rules:  # a user-agent line after rules starts a new group
                agents, in_rules = [], False
            agents.append(value.lower())
        elif key == "crawl-delay":
            in_rules = True
            try:
                found += [(agent, float(value)) for agent in agents]
            except ValueError:
                continue
        elif key in ("allow", "disallow"):
            in_rules = True
    return tuple(found)
