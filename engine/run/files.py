"""Uploaded files: content-addressed storage behind a small interface, content-type sniffing, name cleaning.

Files are stored under the SHA-256 of their bytes, never under the name the client sent; the
type is read from the first bytes, never from the client's claim or the file extension.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Protocol


class FileStore(Protocol):
    """What the portal needs of a file store; an object store (S3, MinIO) can implement the same."""

    def put(self, data: bytes) -> str: ...

    def get(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...


_DIGEST = re.compile(r"[0-9a-f]{64}")


class FolderStore:
    """Files in a folder, two levels of fan-out by digest; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise ValueError("not a SHA-256 digest")
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
        return digest

    def get(self, digest: str) -> bytes:
        return self._path(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()


def sniff(data: bytes) -> str | None:
    """The content type from magic bytes, or None when it is none we know."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"AC10"):
        return "image/vnd.dwg"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    text = data[:64].lstrip()
    if text.startswith(b"{") and b'"type"' in data[:4096]:
        return "application/geo+json"
    return None


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        return "application/zip"
    if "word/document.xml" in names:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if "xl/workbook.xml" in names:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "application/zip"


_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


def clean_name(name: str | None) -> str:
    """A display name from the client's file name: no folders, no control or markup characters."""
    base = (name or "").replace("\\", "/").split("/")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" ._") or "file"
    return base[:100]
