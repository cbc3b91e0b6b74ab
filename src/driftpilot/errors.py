"""The one error tree of driftpilot.

Every error a user can cause or meet derives from :class:`DriftpilotError`, so a caller
can catch everything driftpilot raises on purpose with one ``except``::

    DriftpilotError
    ├── ConfigError       driftpilot.yaml or a parameter is wrong (names the file and field path)
    ├── DataError         input data cannot be used as it is
    │   ├── SourceError   a file or glob cannot be found or read, or its format is unknown
    │   └── SchemaError   a column is missing, has the wrong type, or is not in the profile
    ├── ProfileError      a reference profile file is unreadable or of an unknown version
    ├── EngineError       the query engine (DuckDB, Spark) failed; the engine's error is chained
    ├── RegistryError     the MLflow tracking server or registry failed, or a model is unreadable
    ├── TrainingError     a trainer raised, or returned something driftpilot cannot log or score
    └── StatisticError    a statistic got counts it cannot use (shape mismatch, negative counts)

Messages follow one pattern: what was expected, what was found, and what to do about it.
Errors from other libraries are translated where driftpilot calls them (``raise ... from exc``).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DriftpilotError",
    "EngineError",
    "ProfileError",
    "RegistryError",
    "SchemaError",
    "SourceError",
    "StatisticError",
    "TrainingError",
]


class DriftpilotError(Exception):
    """Base of every error driftpilot raises on purpose.

    ``field`` names what the error is about (a config path such as ``drift.features.tenure``,
    or a column name); ``hint`` says what to do. Both are optional and appear in ``str()``.
    """

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.field = field
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return text


class ConfigError(DriftpilotError, ValueError):
    """driftpilot.yaml, or a parameter given in code or on the command line, is wrong."""


class DataError(DriftpilotError, ValueError):
    """Input data cannot be used as it is."""


class SourceError(DataError):
    """A data file or glob cannot be found or read, or its format is unknown."""


class SchemaError(DataError):
    """A column is missing, has a type that does not fit, or is not in the profile."""


class ProfileError(DriftpilotError, ValueError):
    """A profile file is unreadable, malformed, or of a format version this release cannot read."""


class EngineError(DriftpilotError, RuntimeError):
    """The query engine failed while computing window statistics."""


class RegistryError(DriftpilotError, RuntimeError):
    """The model registry (MLflow) failed, or a registered model cannot be loaded."""


class TrainingError(DriftpilotError, RuntimeError):
    """A trainer failed, or returned a model driftpilot cannot log or score."""


class StatisticError(DriftpilotError, ValueError):
    """A statistic was given inputs it cannot use."""
