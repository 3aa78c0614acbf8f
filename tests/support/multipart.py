"""Multipart upload bodies written by hand: for names a client would not send as they are,
several files in one upload, and bodies streamed (or held) piece by piece."""

from __future__ import annotations

BOUNDARY = "b0undary"
CONTENT_TYPE = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
END = f"\r\n--{BOUNDARY}--\r\n".encode()  # ends the last file's bytes, then the body


def part_head(filename: str | bytes) -> bytes:
    """A file part up to its bytes; the name goes exactly as given."""
    name = filename.encode() if isinstance(filename, str) else filename
    return (
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )


def body(*files: tuple[str, bytes]) -> bytes:
    """A whole body with these files, in order."""
    return b"\r\n".join(part_head(name) + data for name, data in files) + END
