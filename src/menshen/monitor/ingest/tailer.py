"""Following log files: a file, or every file of a directory, read as lines as they grow.

The offset of each file (with its inode) is remembered in a small JSON state file, so a
restart goes on where it stopped. Rotation is followed: when the path names a new inode, the
old file is read to its end first; a file that shrank (truncated in place, copytruncate) is
read again from the start. Lines longer than the cap are skipped unread past the cap and
quarantined. Reading waits while the pipeline says the source is full (back-pressure).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from menshen.monitor.ingest.framing import LineSplitter
from menshen.monitor.ingest.mappers.registry import Mapper
from menshen.monitor.ingest.pipeline import Pipeline, RawRecord, SourceKey
from menshen.monitor.ingest.reject import EARLIEST

__all__ = ["FileTailer"]

_log = logging.getLogger(__name__)
_CHUNK = 64 * 1024


@dataclass(slots=True)
class _Open:
    handle: BinaryIO
    inode: int
    offset: int
    splitter: LineSplitter


class FileTailer:
    def __init__(
        self,
        pipeline: Pipeline,
        key: SourceKey,
        path: Path,
        mapper: Mapper,
        state_file: Path,
        *,
        epoch: datetime = EARLIEST,
        pattern: str = "*",
    ) -> None:
        self._pipeline = pipeline
        self._key = key
        self._path = path
        self._mapper = mapper
        self._state_file = state_file
        self._epoch = epoch
        self._pattern = pattern
        self._open: dict[str, _Open] = {}
        self._state: dict[str, dict[str, int]] = self._load()

    def _load(self) -> dict[str, dict[str, int]]:
        try:
            data = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state))
        os.replace(tmp, self._state_file)

    def files(self) -> list[Path]:
        """The files followed now (a directory's matching files, sorted)."""
        if self._path.is_dir():
            return sorted(p for p in self._path.glob(self._pattern) if p.is_file())
        return [self._path] if self._path.exists() else []

    async def poll(self) -> int:
        """Read what every followed file gained since the last poll; lines read."""
        lines = 0
        for path in await asyncio.to_thread(self.files):
            lines += await self._follow(path)
        self._save()
        return lines

    async def _follow(self, path: Path) -> int:
        name = str(path)
        try:
            stat = await asyncio.to_thread(os.stat, path)
        except OSError:
            return 0
        current = self._open.get(name)
        lines = 0
        if current is not None and current.inode != stat.st_ino:
            lines += await self._read(name, current)  # the rotated file's tail
            current.handle.close()
            del self._open[name]
            self._state[name] = {"inode": stat.st_ino, "offset": 0}
            current = None
        if current is None:
            saved = self._state.get(name, {})
            offset = saved.get("offset", 0) if saved.get("inode") == stat.st_ino else 0
            if offset > stat.st_size:
                offset = 0
            handle = await asyncio.to_thread(_open_at, path, offset)
            current = _Open(
                handle, stat.st_ino, offset, LineSplitter(self._pipeline.limits.max_line)
            )
            self._open[name] = current
        elif stat.st_size < current.offset:  # truncated in place
            current.handle.seek(0)
            current.offset = 0
            current.splitter = LineSplitter(self._pipeline.limits.max_line)
        lines += await self._read(name, current)
        return lines

    async def _read(self, name: str, current: _Open) -> int:
        lines = 0
        while True:
            data = await asyncio.to_thread(current.handle.read, _CHUNK)
            if not data:
                return lines
            start = current.offset - current.splitter.buffered
            records: list[RawRecord] = []
            for frame in current.splitter.feed(data):
                if frame.error is not None:
                    self._pipeline.reject(self._key, frame.error, name[-120:], frame.data)
                    continue
                records.append(RawRecord(frame.data.decode("utf-8", "replace"), f"{name}:{start}"))
                start += len(frame.data) + 1
            current.offset += len(data)
            if records:
                await self._pipeline.submit_waiting(
                    self._key, records, self._mapper, epoch=self._epoch
                )
                lines += len(records)
            # Only whole lines are committed: a partial last line is read again after restart.
            self._state[name] = {
                "inode": current.inode,
                "offset": current.offset - current.splitter.buffered,
            }

    async def run(self, interval: float = 1.0) -> None:
        """Poll for ever (cancel to stop)."""
        try:
            while True:
                try:
                    await self.poll()
                except OSError as exc:
                    _log.warning("tailing %s failed: %s", self._path, exc)
                await asyncio.sleep(interval)
        finally:
            self.close()

    def close(self) -> None:
        """Close the files followed (the offsets stay in the state file)."""
        for current in self._open.values():
            current.handle.close()
        self._open.clear()


def _open_at(path: Path, offset: int) -> BinaryIO:
    handle = path.open("rb")
    handle.seek(offset)
    return handle
