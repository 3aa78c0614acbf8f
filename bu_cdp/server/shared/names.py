"""The ``{"name": ...}`` body of creating and renaming profiles and workspaces."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, field_validator

MAX_NAME_LENGTH = 200
# Bidirectional embeddings, overrides and isolates: they make text read other than it is
# stored ("invoice\u202efdp.exe"), in names and in file names alike.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def bidi_control_in(text: str) -> bool:
    return any(char in BIDI_CONTROLS for char in text)


def looks_empty(text: str) -> bool:
    """Nothing a reader would see: spaces and invisible format characters (U+200B, U+FEFF)."""
    return all(char.isspace() or unicodedata.category(char) == "Cf" for char in text)


class NameRequest(BaseModel):
    """A name people read in lists: 1 to 200 characters, printable, valid Unicode."""

    # Unknown fields are refused, as on /browsers: a misspelt field is an error, not a no-op.
    model_config = ConfigDict(extra="forbid")

    name: str | None = None

    @field_validator("name")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("name must be valid Unicode text (no lone surrogates)") from None
        if any(unicodedata.category(char) == "Cc" for char in value):
            raise ValueError("name must not contain control characters")
        if looks_empty(value):
            raise ValueError("name must not be empty (or only invisible characters)")
        if bidi_control_in(value):
            raise ValueError("name must not contain bidirectional override characters")
        if len(value) > MAX_NAME_LENGTH:
            raise ValueError(f"name must be at most {MAX_NAME_LENGTH} characters")
        return value
