"""The ``{"name": ...}`` body of creating and renaming profiles and workspaces."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, field_validator

MAX_NAME_LENGTH = 200


class NameRequest(BaseModel):
    """A name people read in lists: 1 to 200 characters, printable, valid Unicode."""

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
        if not value.strip():
            raise ValueError("name must not be empty")
        if len(value) > MAX_NAME_LENGTH:
            raise ValueError(f"name must be at most {MAX_NAME_LENGTH} characters")
        return value
