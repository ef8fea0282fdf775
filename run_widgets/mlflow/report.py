"""What an export or import did, and what it could not map."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TransferReport:
    """The outcome of :func:`export_runs` or :func:`import_runs`.

    Attributes:
        created: ``{source run id: target run id}`` of the runs written now.
        skipped: ``{source run id: target run id}`` of runs already there (not duplicated).
        replaced: source run ids whose earlier, incomplete or outdated copy was replaced.
        points: metric points written.
        files: files (artifacts) written.
        unmapped: one line per thing that could not be carried over exactly.
    """

    created: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)
    points: int = 0
    files: int = 0
    unmapped: list[str] = field(default_factory=list)

    def note(self, run_id: str, message: str) -> None:
        """Record something of run ``run_id`` that could not be mapped exactly (once)."""
        line = f"{run_id}: {message}"
        if line not in self.unmapped:
            self.unmapped.append(line)

    def summary(self) -> str:
        """A few lines for people (the CLI prints it)."""
        lines = [
            f"{len(self.created)} run(s) written, {len(self.skipped)} already there"
            + (f", {len(self.replaced)} replaced" if self.replaced else "")
            + f"; {self.points} metric point(s), {self.files} file(s).",
        ]
        if self.unmapped:
            lines.append(f"Not mapped exactly ({len(self.unmapped)}):")
            lines += [f"  - {line}" for line in self.unmapped]
        return "\n".join(lines)
