"""A spec's report folder: report.json, report.md, timings.json and the plots, each written
atomically. The same seed gives byte-identical report.json and report.md: the timings, which
vary from run to run, are in timings.json alone.

How it works: each spec gets a folder `<report_dir>/<spec name>/`. report.json
is `Verification.to_json()` with NaN/inf replaced (NaN → null, ±inf → "inf",
"-inf") so it stays strict JSON. Every file is written with `atomic_write`, so an
interrupted run never leaves half a file; report.json is written last. A file
that cannot be written raises OSError naming it (`write_failure` says why in words);
`writable_folder` and `writable_file` find that out before a run starts.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..results import Verification
from .markdown import report_markdown
from .plots import PLOTS, render_plots


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and os.replace.
    Raises OSError with `filename` set to `path` (a full disk's error names no file)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        temporary = tempfile.NamedTemporaryFile(delete=False, dir=path.parent,
                                                prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise _naming(error, path) from None
    try:
        with temporary:
            temporary.write(payload)
            temporary.flush()
            os.fsync(temporary.fileno())
        os.chmod(temporary.name, 0o644)   # NamedTemporaryFile makes 0600; reports are shared
        os.replace(temporary.name, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary.name)
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise


def _naming(error: OSError, path: Path) -> OSError:
    return OSError(error.errno, error.strerror or str(error), str(path))


# what the errors a person meets most often while writing files mean, in their words
_CAUSES = {errno.EEXIST: "it is a file, not a folder", errno.EISDIR: "it is a folder, not a file",
           errno.ENOTDIR: "part of the path is a file, not a folder",
           errno.ENXIO: "it is a FIFO or device that nothing reads"}


def write_failure(error: OSError) -> str:
    """Why a file could not be written, as people say it: 'no space left on device'."""
    text = _CAUSES.get(error.errno or 0) or error.strerror or str(error)
    return text[:1].lower() + text[1:]


def writable_folder(folder: Path) -> None:
    """Raise OSError unless `folder` is (or can be made) a folder that takes new files."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".gdcheck-probe.",
                                             suffix=".tmp")
    except OSError as error:
        raise _naming(error, folder) from None
    os.close(descriptor)
    os.unlink(probe)


def writable_file(path: Path) -> None:
    """Raise OSError unless `path` can be written as `atomic_write` does (a new file in its
    folder) and, if it exists, opened for appending; a file it makes for this is removed."""
    writable_folder(path.parent)
    existed = path.exists()
    # O_NONBLOCK: a FIFO with no reader is an error (ENXIO), not a wait forever
    os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644))
    if not existed:
        path.unlink()


def write_report(verification: Verification, report_dir: Path) -> Path:
    """Write report.json, report.md and (with a convergence check) the plots; return the folder."""
    return store_report(render_report(verification), Path(report_dir), verification.spec.name)


def render_report(verification: Verification) -> dict[str, bytes]:
    """Every file of a spec's report, in memory: the slow part (plots), touching no file."""
    plots = render_plots(verification)
    document = json_safe(verification.to_json())
    return {**plots,
            "report.md": report_markdown(verification, list(plots)).encode("utf-8"),
            "timings.json": (json.dumps(verification.timings_json(), indent=2) + "\n"
                             ).encode("utf-8"),
            "report.json": (json.dumps(document, indent=2, allow_nan=False, default=str)
                            + "\n").encode("utf-8")}


def store_report(files: dict[str, bytes], report_dir: Path, name: str) -> Path:
    """Write a rendered report into `<report_dir>/<name>/` (milliseconds: the runner's child
    holds a stop request back meanwhile), report.json last: where it is new, the rest of the
    report is too. Plots a previous run left and this one has not are removed."""
    folder = _spec_folder(report_dir, name)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in set(PLOTS.values()) - set(files):
        (folder / stale).unlink(missing_ok=True)
    stored: list[Path] = []
    try:
        for filename, payload in sorted(files.items(),
                                        key=lambda item: item[0] == "report.json"):
            atomic_write(folder / filename, payload)
            stored.append(folder / filename)
    except OSError:   # a full disk: no report rather than half of one
        for path in [*stored, folder / "report.json"]:
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()   # if nothing else is in it
        raise
    return folder


def _spec_folder(report_dir: Path, name: str) -> Path:
    if not name or name in (".", "..") or Path(name).name != name or "\\" in name:
        raise ValueError(f"spec name {name!r} cannot name a report folder")
    return report_dir / name


def json_safe(value: Any) -> Any:
    """JSON-ready copy: NaN → None, ±inf → "inf"/"-inf", numpy values → Python ones."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()   # Python scalars and nested lists
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
