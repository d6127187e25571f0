"""Which spec files a run verifies: the files named, and the *.yaml and *.yml files anywhere
under the folders named.

Folders are walked with an explicit stack (any depth), and a symlinked folder is never
entered: one that stays inside the folder named holds nothing the walk does not reach anyway,
and one that leads out of it is reported. An entry that looks like a spec but cannot be used
(a dangling symlink, a symlink out of its folder, a FIFO, device or socket, a file or folder
that cannot be read) is not skipped in silence: it is one of the run's `problems`, for the
run to report as that entry's error. A spec reached two ways (named, and in a folder named;
through a symlink) is verified once, under the name it was first found by.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Location, SpecError, UsageError, excerpt
from .source import checked_file

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Discovery:
    """The specs a run verifies, and the entries it could not use.

    `paths`: each argument's specs in order, a folder's sorted; none twice.
    `problems`: path -> a one-line message naming it; these paths are not in `paths`.
    """

    paths: list[Path] = field(default_factory=list)
    problems: dict[Path, str] = field(default_factory=dict)


def spec_paths(arguments: Sequence[str]) -> Discovery:
    """The spec files named, folders expanded to their *.yaml and *.yml files, sorted.

    Raises UsageError for an argument that does not exist and for a folder holding no spec.
    Example: `spec_paths(["specs/"]).paths`.
    """
    discovery = Discovery()
    seen: set[Path] = set()
    for argument in arguments:
        found, problems = _expand(argument)
        for path in found:
            real = path.resolve()
            if real not in seen:
                seen.add(real)
                discovery.paths.append(path)
        discovery.problems.update(problems)
    return discovery


def _expand(argument: str) -> tuple[list[Path], dict[Path, str]]:
    path = Path(argument)
    try:
        os.lstat(path)
    except (OSError, ValueError):   # ValueError: a NUL in the argument
        raise UsageError(f"no such file or folder: {argument}") from None
    if path.is_dir():   # a folder, or a symlink the user named to one
        found, problems = _walk(path)
        if not found and not problems:
            raise UsageError(f"no *.yaml or *.yml spec files in folder {argument}")
        return found, problems
    problem = _problem(path)
    return ([], {path: problem}) if problem else ([path], {})


def _walk(folder: Path) -> tuple[list[Path], dict[Path, str]]:
    """The specs under `folder` (sorted) and the entries that could not be used."""
    root = folder.resolve()
    found: list[Path] = []
    problems: dict[Path, str] = {}
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError as error:
            problems[current] = _message(current, "folder", "cannot list the folder: "
                                         f"{error.strerror or error}")
            continue
        for entry in entries:
            path = Path(entry.path)
            kind, problem = _classify(entry, folder, root)
            if kind == "folder":
                pending.append(path)
            elif kind == "spec":
                found.append(path)
            elif problem is not None:
                problems[path] = problem
    return sorted(found), dict(sorted(problems.items()))


def _classify(entry: os.DirEntry[str], folder: Path, root: Path) -> tuple[str, str | None]:
    """What a folder's entry is ("folder", "spec" or "other"), and its problem if any."""
    path = Path(entry.path)
    try:
        if entry.is_dir(follow_symlinks=False):
            return "folder", None
        if entry.is_symlink() and path.is_dir():
            if path.resolve().is_relative_to(root):
                return "other", None   # the walk reaches its specs through the folder itself
            return "other", _message(path, "folder", f"a symlink to a folder outside {folder}; "
                                     "its specs are not verified (name that folder itself)")
    except OSError as error:
        return "other", _message(path, "file", f"cannot read the entry: "
                                 f"{error.strerror or error}")
    if path.suffix not in SUFFIXES:
        return "other", None
    problem = _problem(path)
    return ("other", problem) if problem else ("spec", None)


def _problem(path: Path) -> str | None:
    """Why the spec file `path` cannot be read, in one line naming it, or None."""
    if path.is_symlink() and not path.exists():   # exists() follows the symlink
        return _message(path, "file", f"a dangling symlink (to '{excerpt(os.readlink(path))}'"
                        "); no spec to read")
    try:
        checked_file(path, path.parent, Location(str(path), None, "file"), "the spec")
    except SpecError as error:
        return str(error)
    if not os.access(path, os.R_OK):
        return _message(path, "file", "cannot read the spec: permission denied")
    return None


def _message(path: Path, field: str, text: str) -> str:
    return str(SpecError(Location(str(path), None, field), text))
