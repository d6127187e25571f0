"""A spec's report folder: report.json, report.md and the plots, each written atomically.

How it works: each spec gets a folder `<report_dir>/<spec name>/`. report.json
is `Verification.to_json()` with NaN/inf replaced (NaN → null, ±inf → "inf",
"-inf") so it stays strict JSON. Every file is written with `atomic_write`, so an
interrupted run never leaves half a file; report.json is written last.
"""

from __future__ import annotations

import contextlib
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
    """Write `data` to `path` via a temporary file in the same folder and os.replace."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = tempfile.NamedTemporaryFile(delete=False, dir=path.parent,
                                            prefix=f".{path.name}.", suffix=".tmp")
    try:
        with temporary:
            temporary.write(payload)
            temporary.flush()
            os.fsync(temporary.fileno())
        os.chmod(temporary.name, 0o644)   # NamedTemporaryFile makes 0600; reports are shared
        os.replace(temporary.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary.name)
        raise


def write_report(verification: Verification, report_dir: Path) -> Path:
    """Write report.json, report.md and (with a convergence check) the plots; return the folder."""
    return store_report(render_report(verification), Path(report_dir), verification.spec.name)


def render_report(verification: Verification) -> dict[str, bytes]:
    """Every file of a spec's report, in memory: the slow part (plots), touching no file."""
    plots = render_plots(verification)
    document = json_safe(verification.to_json())
    return {**plots,
            "report.md": report_markdown(verification, list(plots)).encode("utf-8"),
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
    for filename, payload in sorted(files.items(), key=lambda item: item[0] == "report.json"):
        atomic_write(folder / filename, payload)
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
