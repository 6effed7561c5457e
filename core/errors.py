"""Exceptions whose message is safe to show a user and says what to do.

The library raises these; only the CLI and the UI translate them (into an
exit code or a chat message). Anything else is a bug and keeps its traceback.
"""


class TutorError(Exception):
    """Base class: `str(error)` is one line a learner or operator can act on."""


class ConfigError(TutorError):
    """A setting is unknown or has a value that is not allowed."""


class IndexMissing(TutorError):
    """No index has been built yet in the data directory."""


class IndexMismatch(TutorError):
    """The stored index was built with another format or embedding model."""


class ModelMissing(TutorError):
    """A model's weights are not installed or fail their checksum."""


class SourceError(TutorError):
    """A source could not be read (bad WARC, missing folder, refused URL)."""


class BackendUnavailable(TutorError):
    """The language-model backend could not be reached or failed to answer."""


class UnsafeUrl(SourceError):
    """A URL (or a redirect) points at a local, private or otherwise non-public address."""


class LearnerError(TutorError):
    """A learner's saved data cannot be used as asked (unknown learner, unreadable file, nothing to export)."""


class ReviewConflict(LearnerError):
    """The card was reviewed meanwhile (another tab of the same learner): the review is not counted twice."""
