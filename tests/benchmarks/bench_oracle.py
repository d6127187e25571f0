"""The finite-difference oracle's cost and detection power (run on demand; pytest never
collects it).

    python tests/benchmarks/bench_oracle.py [--quick] [--sections ...] [--json FILE]

Measures, single-threaded, on f(x) = Σ sin(aᵢxᵢ) + 0.1·Σxᵢ² (aᵢ ~ uniform(0.5, 2),
x ~ normal(0, 1)) and its exact gradient:

1. `evaluations`: `gdcheck.check_gradient` (scheme "central", rtol 1e-6) at P = 10 … 100,000
   (up to 10,000 with --quick): the evaluations of f and the median process CPU seconds of
   one check, for the correct gradient and for one random entry wrong by 1% (evaluations
   including the bisection that localises it, and whether the entry named is that entry).
   Above 200 components check_gradient checks 4 random directions instead of every
   coordinate.
2. `power`: the directional mode's detection power: `verify_gradient(..., directional=True)`
   at P = 1,000, 10,000 and 100,000 (up to 10,000 with --quick) with one random entry i of
   the correct gradient multiplied by (1 + δ), δ = 1e-1 … 1e-5, over 20 seeds (5 with
   --quick; the seed draws the point, the entry and the oracle's directions): the share of
   checks that fail and the share that name entry i, next to the threshold of the
   docstring of gdcheck/engine/verdicts.py, δ ≳ rtol·‖g‖/|gᵢ| + √P·bound/|gᵢ|. The correct
   gradient is checked at every seed too (it must pass).
3. `verify`: `python -m gdcheck verify spec.yaml --report-dir <tmp>` as a subprocess (wall
   time, exit status, its gradient line) on a generated spec with 49,981 parameters: a
   one-hidden-layer tanh network, d = 100 inputs, h = 490 hidden units, scalar output,
   squared error, n = 2,000 synthetic rows in data.npz, checks
   {gradient: {examples: 10}, descent: false, convergence: false}. Then a hand-written
   numpy gradient of the same network (`planted.py` next to the spec, checked against
   `gdcheck.compile(spec).gradient` to 1e-10 first) with entry 31,337 of W1 (row-major:
   W1[313, 37]) multiplied by 1.01, run as `python -m gdcheck verify spec.yaml --against
   planted:gradient` from the spec's folder: wall time, exit status, and whether the output
   names that entry. For comparison, the finite-difference oracle alone (`verify_gradient`
   on the compiled loss, as the `gradient` check runs it) judges the planted gradient at
   one point.

CPU times are medians over repeats (5, or 3 with --quick) of `time.process_time()`;
subprocesses inherit the one-thread settings. The report (Markdown) goes to stdout,
progress to stderr. The exit status is 1 if a correct gradient does not pass (sections 1
and 2, and `gdcheck verify` in section 3), if the 1% error of section 1 is not named, or if
the planted bug of section 3 is not named (or the hand-written gradient disagrees with
gdcheck's). A full run takes about 2½ minutes on 2 cores, --quick about 30 seconds.
"""

# Pin BLAS and OpenMP to one thread before numpy (or anything else) is imported.
import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gdcheck  # noqa: E402  - its machine description

import gdcheck  # noqa: E402
from gdcheck.engine.verdicts import DIRECTIONAL_ABOVE, DIRECTIONS, verify_gradient  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("evaluations", "power", "verify")
RTOL = 1e-6

# Section 1: evaluations per check against P.
SIZES = [10, 100, 200, 201, 1_000, 10_000, 100_000]
BUG = 0.01                      # one entry wrong by 1%
# Section 2: detection power of the directional mode.
POWER_SIZES = [1_000, 10_000, 100_000]
DELTAS = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5]
SEEDS, QUICK_SEEDS = 20, 5
QUICK_MAX_P = 10_000
# Section 3: `gdcheck verify` on a spec with ~50,000 parameters.
NETWORK = {"d": 100, "h": 490, "n": 2_000, "examples": 10}
PLANTED_INDEX = 31_337          # flat (row-major) index into W1
PLANTED_FACTOR = 1.01
HAND_AGREEMENT = 1e-10          # the hand-written gradient vs gdcheck's, relative


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the smooth test function

class Smooth:
    """f(x) = Σ sin(aᵢxᵢ) + 0.1·Σxᵢ², one point (P,) or a batch (K, P) at a time, counting
    the points it was called on; `gradient` is its exact gradient."""

    def __init__(self, size: int, seed: int = 0):
        self.a = np.random.default_rng([size, seed]).uniform(0.5, 2.0, size=size)
        self.calls = 0

    def __call__(self, x: np.ndarray) -> Any:
        x = np.asarray(x)
        self.calls += 1 if x.ndim == 1 else len(x)
        return np.sum(np.sin(self.a * x), axis=-1) + 0.1 * np.sum(x * x, axis=-1)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return self.a * np.cos(self.a * x) + 0.2 * x


def point_and_entry(size: int, seed: int) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng([size, seed, 1])
    return rng.normal(size=size), int(rng.integers(size))


def wrong_at(gradient: Callable[[np.ndarray], np.ndarray], entry: int, factor: float
             ) -> Callable[[np.ndarray], np.ndarray]:
    """`gradient` with entry `entry` (flat) multiplied by `factor`."""
    def wrong(x: np.ndarray) -> np.ndarray:
        g = np.array(gradient(x), dtype=float)
        g.reshape(-1)[entry] *= factor
        return g
    return wrong


def cpu_median(run: Callable[[], Any], repeats: int) -> tuple[Any, float, list[float]]:
    """run()'s last result, the median process CPU seconds over `repeats` runs, all of them."""
    seconds, result = [], None
    for _ in range(repeats):
        start = time.process_time()
        result = run()
        seconds.append(time.process_time() - start)
    return result, statistics.median(seconds), seconds


# ---------------------------------------------------------------- 1. evaluations against P

def counted_check(f: Smooth, grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                  calls: list[int]) -> Callable[[], Any]:
    """A run of check_gradient that appends the calls of f it made to `calls`."""
    def run() -> Any:
        before = f.calls
        check = gdcheck.check_gradient(f, grad, x, rtol=RTOL, scheme="central", seed=0)
        calls.append(f.calls - before)
        return check
    return run


def evaluations_section(sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        progress(f"evaluations: P = {size:,}")
        f = Smooth(size)
        x, entry = point_and_entry(size, 0)
        row: dict[str, Any] = {"P": size, "entry": entry}
        for label, grad in (("correct", f.gradient), ("bug", wrong_at(f.gradient, entry,
                                                                       1 + BUG))):
            calls: list[int] = []
            check, median, seconds = cpu_median(counted_check(f, grad, x, calls), repeats)
            row[label] = {"verdict": check.verdict, "evaluations": check.evaluations,
                          "f_calls": calls[-1], "steady": len(set(calls)) == 1,
                          "scheme": check.scheme, "worst": check.worst,
                          "named": check.worst == (entry,), "reason": check.reason,
                          "cpu_s": median, "cpu_all_s": seconds}
        rows.append(row)
    return rows


# ---------------------------------------------------------------- 2. detection power

def power_section(sizes: list[int], seeds: int) -> dict[str, Any]:
    out: dict[str, Any] = {"seeds": seeds, "deltas": DELTAS, "sizes": {}}
    for size in sizes:
        progress(f"detection power: P = {size:,}, {seeds} seeds × {len(DELTAS)} δ")
        f = Smooth(size)
        per_seed = []
        for seed in range(seeds):
            x, entry = point_and_entry(size, seed)
            exact = f.gradient(x)
            start = time.process_time()
            correct = verify_gradient(f, x, exact, rtol=RTOL, seed=seed, directional=True)
            record: dict[str, Any] = {
                "seed": seed, "entry": entry, "g_i": float(exact[entry]),
                "g_norm": float(np.linalg.norm(exact)), "correct": correct.verdict,
                "correct_evaluations": correct.evaluations,
                "correct_cpu_s": time.process_time() - start,
                "bound": float(np.median([b for _, _, b, _ in correct.directions])),
                "runs": {}}
            # the docstring's threshold: δ ≳ rtol·‖g‖/|gᵢ| + √P·bound/|gᵢ|
            scale = max(abs(record["g_i"]), 1e-300)
            record["rtol_term"] = RTOL * record["g_norm"] / scale
            record["bound_term"] = np.sqrt(size) * record["bound"] / scale
            record["threshold"] = record["rtol_term"] + record["bound_term"]
            for delta in DELTAS:
                wrong = exact.copy()
                wrong[entry] *= 1 + delta
                start = time.process_time()
                found = verify_gradient(f, x, wrong, rtol=RTOL, seed=seed, directional=True)
                record["runs"][repr(delta)] = {
                    "verdict": found.verdict, "worst": found.worst,
                    "named": found.verdict == "fail" and found.worst == entry,
                    "evaluations": found.evaluations, "cpu_s": time.process_time() - start,
                    "failed_direction": next((k for k, d in enumerate(found.directions)
                                              if d[3] == "fail"), None)}
            per_seed.append(record)
        out["sizes"][str(size)] = per_seed
    return out


# ---------------------------------------------------------------- 3. gdcheck verify, ~50,000 P

SPEC = """\
gdcheck: 1
name: tanh-d{d}-h{h}
description: one-hidden-layer tanh network, {P} parameters (bench_oracle.py)
parameters:
  W1: {{shape: [{h}, {d}], init: normal(0, 0.1)}}
  b1: {{shape: [{h}], init: normal(0, 0.1)}}
  w2: {{shape: [{h}], init: normal(0, 0.1)}}
  b2: {{init: normal(0, 0.1)}}
inputs: {{x: {{shape: [{d}]}}}}
target: {{y: {{}}}}
model: dot(w2, tanh(W1 @ x + b1)) + b2
loss: (y_pred - y)**2
reduction: mean
data: {{npz: data.npz}}
optimizer: {{method: gd, learning_rate: 0.1, steps: 10}}
checks: {{gradient: {{examples: {examples}}}, descent: false, convergence: false}}
"""

PLANTED = textwrap.dedent("""\
    \"\"\"The gradient of the bench_oracle.py network by hand (numpy), and a planted bug.\"\"\"
    import numpy as np

    INDEX = {index}      # flat, row-major, into W1
    FACTOR = {factor}


    def hand_gradient(W1, b1, w2, b2, x, y):
        \"\"\"d/dθ of mean((w2·tanh(W1 x + b1) + b2 − y)²): forward, then backward.\"\"\"
        hidden = np.tanh(x @ W1.T + b1)                       # (n, h)
        upstream = 2.0 * (hidden @ w2 + b2 - y) / len(y)      # dL/dy_pred per row
        pre = np.outer(upstream, w2) * (1.0 - hidden * hidden)   # dL/d(W1 x + b1)
        return {{"W1": pre.T @ x, "b1": pre.sum(axis=0), "w2": upstream @ hidden,
                "b2": upstream.sum()}}


    def gradient(W1, b1, w2, b2, x, y):
        result = hand_gradient(W1, b1, w2, b2, x, y)
        result["W1"] = np.array(result["W1"])
        result["W1"].reshape(-1)[INDEX] *= FACTOR
        return result
""")


def network_size(d: int, h: int) -> int:
    return h * d + h + h + 1


def write_network(folder: Path) -> Path:
    d, h, n = NETWORK["d"], NETWORK["h"], NETWORK["n"]
    rng = np.random.default_rng(2024)
    x = rng.normal(size=(n, d))
    hidden = np.tanh(x @ rng.normal(0, 0.1, size=(h, d)).T + rng.normal(0, 0.1, size=h))
    y = hidden @ rng.normal(0, 0.1, size=h) + 0.1 + rng.normal(0, 0.1, size=n)
    np.savez(folder / "data.npz", x=x, y=y)
    path = folder / "spec.yaml"
    path.write_text(SPEC.format(d=d, h=h, P=network_size(d, h), examples=NETWORK["examples"]))
    (folder / "planted.py").write_text(PLANTED.format(index=PLANTED_INDEX,
                                                      factor=PLANTED_FACTOR))
    return path


def run_command(arguments: list[str], cwd: Path, timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "gdcheck", *arguments]
    start = time.perf_counter()
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                   cwd=cwd)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s", "wall_s": timeout}
    return {"wall_s": time.perf_counter() - start, "exit_status": completed.returncode,
            "stdout": completed.stdout, "stderr": completed.stderr[-2000:],
            "command": "python -m gdcheck " + " ".join(arguments)}


def line_of(output: str, check: str) -> str | None:
    """The line `  PASS gradient ...` / `  FAIL against ...` of a check, if printed."""
    for line in output.splitlines():
        words = line.split()
        if len(words) > 1 and words[1] == check:
            return line.strip()
    return None


def shortened(line: str | None, keep: int = 400) -> str:
    if line is None:
        return "(no such line)"
    # the point is printed in full for small parameters and summarised for large ones
    return line if len(line) <= keep else line[:keep] + " …"


def verify_section(timeout: float) -> dict[str, Any]:
    d, h = NETWORK["d"], NETWORK["h"]
    row_index, column = divmod(PLANTED_INDEX, d)
    entry = re.compile(rf"W1\[\s*{row_index}\s*,\s*{column}\s*\]")
    result: dict[str, Any] = {"P": network_size(d, h), "n": NETWORK["n"], "d": d, "h": h,
                              "entry": f"W1[{row_index}, {column}]"}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = write_network(folder)

        # the hand-written gradient against gdcheck's exact one, before it is used
        progress("verify: compiling the spec, checking the hand-written gradient")
        start = time.perf_counter()
        problem = gdcheck.compile(path)
        result["compile_s"] = time.perf_counter() - start
        loaded = importlib.util.spec_from_file_location("bench_oracle_planted",
                                                        folder / "planted.py")
        assert loaded is not None and loaded.loader is not None
        planted = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(planted)

        def flat(gradient: dict[str, Any]) -> np.ndarray:
            return np.concatenate([np.ravel(gradient[p]) for p in ("W1", "b1", "w2", "b2")])

        errors, others = [], []
        rng = np.random.default_rng(5)
        for _ in range(3):
            theta = rng.normal(0, 0.1, size=problem.size)
            exact = problem.gradient(theta)
            arguments = {**problem.unpack(theta), **problem.data}
            errors.append(float(np.max(np.abs(flat(planted.hand_gradient(**arguments)) - exact))
                                / np.max(np.abs(exact))))
            changed = np.flatnonzero(flat(planted.gradient(**arguments))
                                     != flat(planted.hand_gradient(**arguments)))
            others.append(changed.tolist())
        result["hand_error"] = max(errors)
        result["hand_agrees"] = bool(result["hand_error"] <= HAND_AGREEMENT)
        result["planted_changes"] = sorted({i for changed in others for i in changed})
        result["parameter_name"] = problem.parameter_names[PLANTED_INDEX]

        # the finite-difference oracle alone on the planted gradient, at the last point
        progress("verify: the finite-difference oracle on the planted gradient, one point")
        start = time.process_time()
        found = verify_gradient(problem.loss, theta,
                                flat(planted.gradient(**problem.unpack(theta), **problem.data)),
                                rtol=RTOL, seed=0, describe=lambda i: problem.parameter_names[i])
        result["oracle"] = {"verdict": found.verdict, "mode": found.mode,
                            "evaluations": found.evaluations,
                            "cpu_s": time.process_time() - start,
                            "named": found.worst == PLANTED_INDEX,
                            "worst": None if found.worst is None
                            else problem.parameter_names[found.worst],
                            "reason": found.reason}

        progress("verify: python -m gdcheck verify spec.yaml")
        plain = run_command(["verify", "spec.yaml", "--report-dir", str(folder / "reports")],
                            folder, timeout)
        plain["gradient_line"] = line_of(plain.get("stdout", ""), "gradient")
        result["plain"] = plain
        progress("verify: python -m gdcheck verify spec.yaml --against planted:gradient")
        against = run_command(["verify", "spec.yaml", "--against", "planted:gradient",
                               "--report-dir", str(folder / "reports-against")], folder, timeout)
        against["against_line"] = line_of(against.get("stdout", ""), "against")
        against["gradient_line"] = line_of(against.get("stdout", ""), "gradient")
        against["named"] = bool(against["against_line"]
                                and entry.search(against["against_line"].split(" at ")[0]))
        result["against"] = against
    return result


# ---------------------------------------------------------------- the machine

def machine() -> dict[str, Any]:
    """bench_gdcheck's machine description, for the packages this benchmark uses."""
    return bench_gdcheck.machine(("gdcheck", "numpy", "sympy", "hypothesis"))


# ---------------------------------------------------------------- printing

def secs(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 1 else f"{seconds:.2f}"


def share(count: int, total: int) -> str:
    return f"{count}/{total}" if total else "—"


def report(results: dict[str, Any]) -> tuple[str, list[str]]:
    """The Markdown report, and the mismatches (each a sentence)."""
    out: list[str] = []
    mismatches: list[str] = []
    m, settings = results["machine"], results["settings"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    out += ["## Machine", "",
            f"- CPU: {m['cpu']} ({m['cores']} cores, {m['usable_cores']} usable)",
            f"- Python {m['python']}, {m['platform']}; BLAS {m['blas']}",
            f"- {versions}",
            "- one thread: OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1 "
            "(the `gdcheck verify` subprocesses inherit them)",
            f"- {'quick' if settings['quick'] else 'full'} run: {settings['repeats']} repeats "
            f"per median (section 1), {settings['seeds']} seeds (section 2); medians of "
            "process CPU time; rtol = 1e-6 throughout",
            *bench_gdcheck.load_lines(m, results["load_average_after"])]

    if "evaluations" in results:
        out += ["## 1. Evaluations of f per `check_gradient` against P", "",
                "f(x) = Σ sin(aᵢxᵢ) + 0.1·Σxᵢ², scheme \"central\", seed 0; \"1% bug\": one "
                "random entry i of the exact gradient × 1.01 (evaluations include the "
                f"bisection that localises it). Above {DIRECTIONAL_ABOVE} components: "
                f"{DIRECTIONS} random directions.", "",
                "| P | mode | correct: verdict | evaluations | per component | CPU s "
                "| 1% bug: verdict | evaluations | CPU s | entry i | named | "
                "extra evals / log₂ P |",
                "|---:|---|---|---:|---:|---:|---|---:|---:|---:|---|---:|"]
        for row in results["evaluations"]:
            good, bad = row["correct"], row["bug"]
            mode = "directions" if "directional" in good["scheme"] else "coordinates"
            extra = (bad["evaluations"] - good["evaluations"]) / np.log2(row["P"])
            flags = [] if good["steady"] and bad["steady"] else ["evaluations varied"]
            if good["f_calls"] != good["evaluations"] or bad["f_calls"] != bad["evaluations"]:
                flags.append(f"f called {good['f_calls']} / {bad['f_calls']} times")
            note = f" ({'; '.join(flags)})" if flags else ""
            out.append(f"| {row['P']:,} | {mode} | {good['verdict']} | "
                       f"{good['evaluations']:,}{note} | {good['evaluations'] / row['P']:.3g} | "
                       f"{secs(good['cpu_s'])} | {bad['verdict']} | {bad['evaluations']:,} | "
                       f"{secs(bad['cpu_s'])} | {row['entry']:,} | "
                       f"{'yes' if bad['named'] else 'NO: ' + str(bad['worst'])} | "
                       f"{extra:.1f} |")
            if good["verdict"] != "pass":
                mismatches.append(f"section 1, P = {row['P']:,}: the correct gradient is "
                                  f"'{good['verdict']}': {good['reason']}")
            if not bad["named"]:
                mismatches.append(f"section 1, P = {row['P']:,}: the 1% error at entry "
                                  f"{row['entry']} was not named ({bad['verdict']}, worst "
                                  f"{bad['worst']}): {bad['reason']}")
        out.append("")

    if "power" in results:
        power = results["power"]
        seeds = power["seeds"]
        out += ["## 2. Detection power of the directional mode", "",
                f"`verify_gradient(..., directional=True)`, {DIRECTIONS} random Rademacher "
                f"directions, rtol = {RTOL:g}; entry i of the correct gradient × (1 + δ); "
                f"{seeds} seeds per P (the seed draws the point, i and the directions). "
                "Threshold of verdicts.py's docstring: δ ≳ rtol·‖g‖/|gᵢ| + √P·bound/|gᵢ| "
                "(bound: the median of the correct run's direction bounds at that seed).", "",
                "| P | correct passes | evaluations (correct) | CPU s (correct) "
                "| rtol·‖g‖/\\|gᵢ\\|: median | 10th–90th percentile "
                "| √P·bound/\\|gᵢ\\|: median |",
                "|---:|---:|---:|---:|---:|---:|---:|"]
        for size, records in power["sizes"].items():
            passes = sum(r["correct"] == "pass" for r in records)
            rtol_terms = [r["rtol_term"] for r in records]
            low, high = np.percentile(rtol_terms, [10, 90])
            out.append(f"| {int(size):,} | {share(passes, len(records))} | "
                       f"{statistics.median(r['correct_evaluations'] for r in records):,.0f} | "
                       f"{secs(statistics.median(r['correct_cpu_s'] for r in records))} | "
                       f"{statistics.median(rtol_terms):.1e} | {low:.1e} – {high:.1e} | "
                       f"{statistics.median(r['bound_term'] for r in records):.1e} |")
            for r in records:
                if r["correct"] != "pass":
                    mismatches.append(f"section 2, P = {int(size):,}, seed {r['seed']}: the "
                                      f"correct gradient is '{r['correct']}'")
        out += ["", "| P | δ | fail | names i | inconclusive | predicted by the threshold "
                "| median evaluations | median CPU s |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for size, records in power["sizes"].items():
            for delta in power["deltas"]:
                runs = [r["runs"][repr(delta)] for r in records]
                fails = sum(run["verdict"] == "fail" for run in runs)
                named = sum(run["named"] for run in runs)
                open_ = sum(run["verdict"] == "inconclusive" for run in runs)
                predicted = sum(delta > r["threshold"] for r in records)
                out.append(f"| {int(size):,} | {delta:.0e} | {share(fails, len(runs))} | "
                           f"{share(named, len(runs))} | {share(open_, len(runs))} | "
                           f"{share(predicted, len(runs))} | "
                           f"{statistics.median(run['evaluations'] for run in runs):,.0f} | "
                           f"{secs(statistics.median(run['cpu_s'] for run in runs))} |")
        wrongly = [(size, r["seed"], delta) for size, records in power["sizes"].items()
                   for r in records for delta in power["deltas"]
                   if r["runs"][repr(delta)]["verdict"] == "fail"
                   and not r["runs"][repr(delta)]["named"]]
        out += ["", "A failing check that names another entry than i: "
                + (", ".join(f"P = {int(s):,} seed {seed} δ = {d:.0e}" for s, seed, d in wrongly)
                   or "none") + ".", ""]

    if "verify" in results:
        v = results["verify"]
        out += [f"## 3. `gdcheck verify` on a spec with {v['P']:,} parameters", "",
                f"One-hidden-layer tanh network, d = {v['d']}, h = {v['h']}, scalar output, "
                f"squared error, n = {v['n']:,} rows (data.npz); checks: gradient "
                f"({NETWORK['examples']} examples), descent and convergence off. Planted bug: "
                f"W1 flat index {PLANTED_INDEX:,} = `{v['entry']}` × {PLANTED_FACTOR} "
                f"(gdcheck calls it `{v['parameter_name']}`).", ""]
        agree = "" if v["hand_agrees"] else " **MISMATCH**"
        changes = v["planted_changes"]
        out += [f"- hand-written numpy gradient vs `gdcheck.compile(spec).gradient` at 3 points:"
                f" {v['hand_error']:.1e} relative (must be ≤ {HAND_AGREEMENT:g}){agree}; the "
                f"planted gradient differs from the hand-written one at θ index "
                f"{', '.join(map(str, changes)) or 'none'}; compile {v['compile_s']:.2f} s", ""]
        if changes != [PLANTED_INDEX]:
            mismatches.append(f"section 3: the planted gradient should differ from the "
                              f"hand-written one at θ index {PLANTED_INDEX} only, not at "
                              f"{changes[:10]}")
        if not v["hand_agrees"]:
            mismatches.append(f"section 3: the hand-written gradient differs from gdcheck's by "
                              f"{v['hand_error']:.1e} relative")
        out += ["| command | wall s | exit status | line printed |", "|---|---:|---:|---|"]
        for key, line_key in (("plain", "gradient_line"), ("against", "against_line")):
            run = v[key]
            command = ("`gdcheck verify spec.yaml`" if key == "plain"
                       else "`gdcheck verify spec.yaml --against planted:gradient`")
            if "error" in run:
                out.append(f"| {command} | — | {run['error']} | |")
                continue
            text = shortened(run.get(line_key)).replace("|", "\\|")
            out.append(f"| {command} | {run['wall_s']:.1f} | {run['exit_status']} | {text} |")
        plain, against = v["plain"], v["against"]
        if "error" in against:
            named = "not run to the end"
        else:
            named = "yes" if against["named"] else "**NO**"
            if against.get("gradient_line"):
                out += ["", f"(with `--against` the gradient check runs too: "
                        f"`{shortened(against['gradient_line'], 200)}`)"]
        out += ["", f"Planted entry `{v['entry']}` named by `--against`: {named}."]
        oracle = v["oracle"]
        out += ["", f"For comparison, the finite-difference oracle alone on the planted "
                f"gradient at one point ({oracle['mode']}): {oracle['verdict']}, "
                f"{oracle['evaluations']:,} evaluations of the loss, "
                f"{oracle['cpu_s']:.1f} s CPU, names `{oracle['worst']}`"
                f" ({'the planted entry' if oracle['named'] else 'not the planted entry'}).",
                ""]
        if "error" in plain or plain["exit_status"] != 0:
            mismatches.append(f"section 3: `gdcheck verify` on the correct spec: "
                              f"{plain.get('error') or 'exit status ' + str(plain['exit_status'])}"
                              f": {shortened(plain.get('gradient_line'))} "
                              f"{plain.get('stderr', '')[-300:]}")
        if "error" in against or not against["named"]:
            mismatches.append(f"section 3: the planted bug ({v['entry']}) was not named: "
                              f"{against.get('error') or shortened(against.get('against_line'))}"
                              f" {against.get('stderr', '')[-300:]}")
    return "\n".join(out), mismatches


def totals(results: dict[str, Any], mismatches: list[str]) -> str:
    out = ["## Totals", ""]
    if "evaluations" in results:
        rows = results["evaluations"]
        checks = sum(len(r["correct"]["cpu_all_s"]) + len(r["bug"]["cpu_all_s"]) for r in rows)
        cpu = sum(sum(r["correct"]["cpu_all_s"]) + sum(r["bug"]["cpu_all_s"]) for r in rows)
        passes = sum(r["correct"]["verdict"] == "pass" for r in rows)
        named = sum(r["bug"]["named"] for r in rows)
        out.append(f"- section 1: {checks} checks, {cpu:.1f} s CPU; correct gradient passes at "
                   f"{passes}/{len(rows)} sizes, the 1% error named at {named}/{len(rows)}")
    if "power" in results:
        records = [r for rs in results["power"]["sizes"].values() for r in rs]
        runs = [run for r in records for run in r["runs"].values()]
        cpu = sum(r["correct_cpu_s"] for r in records) + sum(run["cpu_s"] for run in runs)
        evaluations = (sum(r["correct_evaluations"] for r in records)
                       + sum(run["evaluations"] for run in runs))
        passes = sum(r["correct"] == "pass" for r in records)
        out.append(f"- section 2: {len(records) + len(runs)} checks, {evaluations:,} "
                   f"evaluations, {cpu:.1f} s CPU; correct gradient passes "
                   f"{passes}/{len(records)}; planted errors failing "
                   f"{sum(run['verdict'] == 'fail' for run in runs)}/{len(runs)}, named "
                   f"{sum(run['named'] for run in runs)}/{len(runs)}")
    if "verify" in results:
        v = results["verify"]
        walls = [v[k]["wall_s"] for k in ("plain", "against")]
        out.append(f"- section 3: {sum(walls):.1f} s wall in `gdcheck verify` "
                   f"({walls[0]:.1f} + {walls[1]:.1f})")
    out.append(f"- whole run: {results['wall_s']:.0f} s wall")
    out += ["", "Mismatches: " + ("none." if not mismatches else ""), ""]
    out += [f"- **MISMATCH** {text}" for text in mismatches]
    return "\n".join(out) + ("\n" if mismatches else "")


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"P up to {QUICK_MAX_P:,}, {QUICK_SEEDS} seeds, 3 repeats")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        metavar="SECTION", help=f"what to run (default all: {', '.join(SECTIONS)})")
    parser.add_argument("--repeats", type=int, help="repeats per median (default 5; 3 quick)")
    parser.add_argument("--seeds", type=int, help=f"seeds in section 2 (default {SEEDS}; "
                                                   f"{QUICK_SEEDS} quick)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed for each `gdcheck verify` subprocess (default 600)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also save the results as JSON")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    repeats = args.repeats or (3 if args.quick else 5)
    seeds = args.seeds or (QUICK_SEEDS if args.quick else SEEDS)
    limit = QUICK_MAX_P if args.quick else max(SIZES)
    results: dict[str, Any] = {"machine": machine(), "settings": {
        "quick": args.quick, "repeats": repeats, "seeds": seeds, "rtol": RTOL,
        "timeout": args.timeout}}
    if "evaluations" in args.sections:
        results["evaluations"] = evaluations_section([p for p in SIZES if p <= limit], repeats)
    if "power" in args.sections:
        results["power"] = power_section([p for p in POWER_SIZES if p <= limit], seeds)
    if "verify" in args.sections:
        results["verify"] = verify_section(args.timeout)
    results["load_average_after"] = list(os.getloadavg())
    results["wall_s"] = time.perf_counter() - started

    text, mismatches = report(results)
    print(text)
    print(totals(results, mismatches))
    results["mismatches"] = mismatches
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        progress(f"results saved to {args.json}")
    for message in mismatches:
        print(f"MISMATCH: {message}", file=sys.stderr)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
