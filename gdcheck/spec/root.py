"""The project root: the folder a spec's data paths may lead into.

A pull request must not make gdcheck read outside the repository, but data beside the specs
(`specs/model.yaml` reading `../data/train.csv`) is the usual layout. So a data path may
leave the spec's folder as long as it stays inside the root: the nearest folder at or
above the spec's holding `.git` or `pyproject.toml`; failing that, the current folder when
the spec is inside it, else the spec's own folder. `--root DIR` (`set_root`) replaces the
search, to widen or narrow it. Symlinks are resolved before the test (`source.checked_file`).
"""

from __future__ import annotations

from pathlib import Path

MARKERS = (".git", "pyproject.toml")

_chosen: Path | None = None   # --root, for this process and the children it forks


def set_root(folder: str | Path | None) -> None:
    """Use `folder` as every spec's root (None: search for it again)."""
    global _chosen
    _chosen = None if folder is None else Path(folder).resolve()


def project_root(spec_path: Path) -> Path:
    """The folder the spec at `spec_path` may read data from (resolved)."""
    if _chosen is not None:
        return _chosen
    folder = Path(spec_path).absolute().parent.resolve()   # the folder it was named in
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in MARKERS):
            return candidate
    here = Path.cwd().resolve()
    return here if folder.is_relative_to(here) else folder
