"""The spool directory of file imports: one file per job, ``<dir>/<tenant>/<job id>.upload``.

An upload is written to ``<job id>.part`` while it streams in (with its SHA-256 and size counted on
the way), renamed to ``.upload`` once complete and synced, and deleted when its job ends. Everything
here is blocking file I/O: callers on the event loop run it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import IO

from dengar_collector.domain.import_job import SpoolFull

logger = logging.getLogger(__name__)

_PART = ".part"
_UPLOAD = ".upload"


class SpoolWriter:
    def __init__(self, part: Path, final: Path, max_bytes: int) -> None:
        self._part = part
        self._final = final
        self._max = max_bytes
        self._file: IO[bytes] | None = part.open("xb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        if self.size + len(chunk) > self._max:
            raise SpoolFull(self._max)
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def commit(self) -> tuple[int, str]:
        """Make the file durable under its final name; its size and SHA-256 (hex)."""
        assert self._file is not None
        self._file.flush()
        # A job is only stored once its file is on disk: a restart must find what the job points to.
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        self._part.replace(self._final)
        return self.size, self._hash.hexdigest()

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._part.unlink(missing_ok=True)
        self._final.unlink(missing_ok=True)


class ImportSpool:
    def __init__(self, directory: str | Path, *, max_bytes: int) -> None:
        self._dir = Path(directory)
        self.max_bytes = max_bytes

    def prepare(self, *, stale_after_s: float = 3600.0) -> None:
        """Create the directory; remove partial uploads left by a process that died mid-upload."""
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        cutoff = time.time() - stale_after_s
        for part in self._dir.glob(f"*/*{_PART}"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    logger.info("removed a stale partial upload %s", part)
            except OSError:
                logger.debug("could not remove %s", part, exc_info=True)

    def path(self, tenant_id: str, job_id: str) -> Path:
        # Both are checked ids (a-z0-9_-), so neither can climb out of the directory.
        return self._dir / tenant_id / f"{job_id}{_UPLOAD}"

    def create(self, tenant_id: str, job_id: str) -> SpoolWriter:
        final = self.path(tenant_id, job_id)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return SpoolWriter(final.with_suffix(_PART), final, self.max_bytes)

    def exists(self, tenant_id: str, job_id: str) -> bool:
        return self.path(tenant_id, job_id).is_file()

    def used_bytes(self, tenant_id: str | None = None) -> int:
        root = self._dir / tenant_id if tenant_id else self._dir
        total = 0
        # Complete files only: a partial one is still being written (its size on disk lags behind
        # the buffer), and the caller counts the uploads in progress itself.
        for path in root.glob(f"*{_UPLOAD}" if tenant_id else f"*/*{_UPLOAD}"):
            try:
                total += path.stat().st_size
            except OSError:
                continue  # deleted meanwhile: its job ended
        return total

    def delete_tenant(self, tenant_id: str) -> int:
        """Remove every spooled file of a tenant (offboarding); how many files were removed."""
        directory = self._dir / tenant_id
        if not directory.is_dir():
            return 0
        removed = 0
        for path in directory.iterdir():
            path.unlink(missing_ok=True)
            removed += 1
        directory.rmdir()
        return removed

    def delete(self, tenant_id: str, job_id: str) -> None:
        try:
            self.path(tenant_id, job_id).unlink(missing_ok=True)
        except OSError:
            logger.warning("could not delete the spooled file of import %s", job_id, exc_info=True)
