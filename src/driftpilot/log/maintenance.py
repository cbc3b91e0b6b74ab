"""Keeping the log's tables lean: compaction and vacuum.

Many small commits (group commit writes one per few milliseconds under load) leave many small
files; compaction rewrites them into large ones without changing what the tables hold, and
is safe while writers append. Vacuum then deletes files no current version refers to (the
ones compaction replaced, and any left by a writer killed before its commit) once they are
older than the retention period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftpilot.errors import EngineError
from driftpilot.workspace import Workspace

__all__ = ["compact"]


def compact(
    workspace: Workspace, *, retention_hours: int | None = None
) -> dict[str, dict[str, Any]]:
    """Compact and vacuum every log table of the workspace; returns what was done per table."""
    from deltalake import DeltaTable

    hours = workspace.config.log.vacuum_hours if retention_hours is None else retention_hours
    done: dict[str, dict[str, Any]] = {}
    for name, path in (
        ("predictions", workspace.predictions_path),
        ("labels", workspace.labels_path),
        ("reports", workspace.reports_path),
    ):
        if not DeltaTable.is_deltatable(str(path)):
            continue
        try:
            table = DeltaTable(str(path))
            metrics = table.optimize.compact()
            removed = table.vacuum(
                retention_hours=hours, dry_run=False, enforce_retention_duration=False
            )
            table.create_checkpoint()
            table.cleanup_metadata()
        except Exception as exc:
            raise EngineError(
                f"could not compact the {name} table at {str(path)!r}: {exc}",
                hint="retry; compaction is safe to repeat",
            ) from exc
        done[name] = {
            "files_added": int(metrics.get("numFilesAdded", 0)),
            "files_removed": int(metrics.get("numFilesRemoved", 0)),
            "files_vacuumed": len(removed),
            "version": DeltaTable(str(path)).version(),
            "size_bytes": _size(path),
        }
    return done


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet"))
