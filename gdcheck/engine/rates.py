"""The learning-rate map: the loss a constant learning rate reaches, over a log grid of
rates around the spec's, and the stability bound where the stable range ends.

How it works: the spec's optimizer (gd, or heavy-ball momentum) runs from one initial
point at every rate of the grid at once: the rates are the rows of one (R, P) batch,
each row with its own rate (an (R, 1) array). A row stops as a descent's runs do: its
gradient norm falls below `optimizer.tolerance`, it diverges (loss or gradient norm not
finite, or loss > |L₀| + 1e8·max(1, |L₀|)), or the last step is reached; a stopped row
is frozen and dropped from the batch. The rows' work is capped near that of the
convergence runs (`work_budget`): past it every row but the spec's own rate stops.
The bound comes from L, the largest Hessian eigenvalue at the minimum found, by power
iteration on exact Hessian-vector products:
on a quadratic, gd converges exactly when η < 2/L and heavy ball with momentum μ when
η < 2(1+μ)/L, and near a smooth minimum every objective is a quadratic. At a kink the
Hessian says nothing, so an objective with kinks gets the map without a bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import defaults
from ..compiled import Problem
from ..spec import Optimizer

GRID_POINTS = 13             # rates on the grid, the spec's own in the middle
GRID_SPAN = 30.0             # from η/30 to 30η
DIVERGENCE_FACTOR = 1e8      # a loss this many times past its start is not coming back
MAX_BATCH_SCALARS = 1 << 23  # rows × parameters held at once (64 MB a batch); fewer rows above
MIN_GRID_POINTS = 5
WORK_FACTOR = 1              # the map takes at most this many times the convergence runs' steps
MIN_STEPS = 100              # ... and at least GRID_POINTS × this many row-steps
UNRUN_STEPS = 1000           # without convergence runs, as if they took this many steps
POWER_ITERATIONS = 100
POWER_TOLERANCE = 1e-8       # relative residual ‖Hv − λv‖ / |λ| that ends the iteration
PROGRESS_CALLS = 100
WINDOW_FRACTION = 10         # the objective criterion: no gain over the last T/10 steps...
MIN_WINDOW = 10              # ...and at least this many
SAME_LOSS = 1e-6             # relative: converged rows this close reached the same minimum

Progress = Callable[[int, int], object]
Product = Callable[[np.ndarray], np.ndarray]
Update = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Optimizer],
                  tuple[np.ndarray, np.ndarray]]


def _gd(theta: np.ndarray, gradient: np.ndarray, velocity: np.ndarray, rates: np.ndarray,
        optimizer: Optimizer) -> tuple[np.ndarray, np.ndarray]:
    return theta - rates * gradient, velocity


def _momentum(theta: np.ndarray, gradient: np.ndarray, velocity: np.ndarray,
              rates: np.ndarray, optimizer: Optimizer) -> tuple[np.ndarray, np.ndarray]:
    velocity = optimizer.momentum * velocity + gradient   # heavy ball: v ← μv + g
    return theta - rates * velocity, velocity


@dataclass(frozen=True)
class Method:
    """A method the map covers: its update with a rate per row, and its stability bound on
    a quadratic, η < factor(optimizer)/L, named `bound` and said of `what` in the verdict."""

    update: Update
    bound: str
    factor: Callable[[Optimizer], float]
    what: str


METHODS = {"gd": Method(_gd, "2/L", lambda optimizer: 2.0, "gradient descent"),
           "momentum": Method(_momentum, "2(1+μ)/L",
                              lambda optimizer: 2.0 * (1.0 + optimizer.momentum),
                              "heavy-ball momentum")}


@dataclass(frozen=True)
class Criterion:
    """When a row of the map counts as converged, as in the convergence check: `gradient`,
    its final gradient norm is below grad_tol; `objective` (an objective with kinks), that
    or its loss stopped decreasing: no gain of loss_tol·max(1, |best|) over its best in the
    last max(MIN_WINDOW, T/WINDOW_FRACTION) steps, T the spec's steps."""

    name: str = "gradient"
    grad_tol: float = defaults.GRAD_TOL
    loss_tol: float = defaults.LOSS_TOL


@dataclass(frozen=True, eq=False)
class Sweep:
    """Where each row of the grid ended: `final_loss`, `grad_norm` and `final` (R, P) at its
    last step `steps`; `diverged_at` the step it diverged at, or -1; `converged_at` the step
    it converged at by the criterion (its gradient norm first below grad_tol, or its loss's
    last gain), or -1; `cut_at` the step where the work ran out and rows were cut, or -1;
    `spared` whether row `keep` was still running then and went on."""

    rates: np.ndarray
    final_loss: np.ndarray
    grad_norm: np.ndarray
    final: np.ndarray
    steps: np.ndarray
    diverged_at: np.ndarray
    converged_at: np.ndarray
    cut_at: int = -1
    spared: bool = False


def grid(learning_rate: float, points: int = GRID_POINTS) -> np.ndarray:
    """`points` (odd) rates log-spaced from η/GRID_SPAN to GRID_SPAN·η, η itself exactly."""
    factors = GRID_SPAN ** np.linspace(-1.0, 1.0, points)
    factors[points // 2] = 1.0
    return learning_rate * factors


def sweep(problem: Problem, initial: np.ndarray, optimizer: Optimizer, rates: np.ndarray, *,
          criterion: Criterion = Criterion(), work: int | None = None,
          keep: int | None = None, progress: Progress | None = None) -> Sweep:
    """Run `optimizer.method` (gd or momentum) from `initial` (P,) at every rate at once, for
    `optimizer.steps`, or until the rows have taken `work` steps in all: then every row but
    row `keep` (which goes on to its own end) stops. Under the objective criterion a row
    that converged stops there."""
    steps, update = optimizer.steps, METHODS[optimizer.method].update
    rows = _Rows(np.asarray(rates, dtype=float), np.asarray(initial, dtype=float), criterion,
                 max(MIN_WINDOW, steps // WINDOW_FRACTION))
    work = len(rows.rates) * steps if work is None else work
    every = -(-steps // PROGRESS_CALLS)
    with np.errstate(all="ignore"):
        loss, gradient = _evaluate(problem, rows.theta)
        start = abs(float(loss[0]))
        limit = start + DIVERGENCE_FACTOR * max(1.0, start)
        for t in range(steps + 1):
            norm = rows.record(t, loss, gradient)
            work -= len(rows.active)
            diverged = ~(np.isfinite(loss) & np.isfinite(norm)) | (loss > limit)
            out_of_work = (work <= 0) & (rows.active != keep)
            if out_of_work.any() and t < steps and rows.cut_at < 0:
                rows.cut_at, rows.spared = t, bool(np.any(rows.active == keep))
            done = diverged | (norm < optimizer.tolerance) | (t == steps) | out_of_work \
                | rows.stalled(t)
            if done.any():
                gradient = rows.finish(done, diverged, t, loss, norm, gradient)
            if progress is not None and (t % every == 0 and t > 0 or not rows.active.size):
                progress(t, steps)
            if not rows.active.size:
                break
            rows.theta, rows.velocity = update(rows.theta, gradient, rows.velocity,
                                               rows.rates[rows.active, None], optimizer)
            loss, gradient = _evaluate(problem, rows.theta)
    return rows.outcome()


class _Rows:
    """The rows still descending (theta, velocity), what they reached, and what stopped
    rows left."""

    def __init__(self, rates: np.ndarray, initial: np.ndarray, criterion: Criterion,
                 window: int):
        count = len(rates)
        self.rates, self.criterion, self.window = rates, criterion, window
        self.cut_at, self.spared = -1, False
        self.active = np.arange(count)
        self.theta = np.tile(initial, (count, 1))
        self.velocity = np.zeros_like(self.theta)
        self.final = self.theta.copy()
        self.final_loss, self.grad_norm = np.full(count, np.nan), np.full(count, np.nan)
        self.best = np.full(count, np.inf)
        self.steps, self.diverged_at = np.zeros(count, dtype=int), np.full(count, -1)
        self.below_at, self.gained_at = np.full(count, -1), np.zeros(count, dtype=int)

    def record(self, t: int, loss: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """Note the active rows' step t; their gradient norms."""
        norm = np.sqrt(np.einsum("kp,kp->k", gradient, gradient))
        active = self.active
        self.below_at[active[(norm < self.criterion.grad_tol) & (self.below_at[active] < 0)]] = t
        best = self.best[active]
        gain = (loss < best - self.criterion.loss_tol * np.maximum(1.0, np.abs(best))) \
            | ~np.isfinite(best)
        self.best[active[gain]], self.gained_at[active[gain]] = loss[gain], t
        return norm

    def stalled(self, t: int) -> np.ndarray:
        """Under the objective criterion, the active rows that converged by it at step t:
        going on would not change their loss by more than loss_tol."""
        if self.criterion.name != "objective":
            return np.zeros(len(self.active), dtype=bool)
        return t - self.gained_at[self.active] >= self.window

    def finish(self, done: np.ndarray, diverged: np.ndarray, t: int, loss: np.ndarray,
               norm: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """Freeze the rows marked done at step t; the gradient rows of those left."""
        stopped = self.active[done]
        self.final[stopped], self.final_loss[stopped] = self.theta[done], loss[done]
        self.grad_norm[stopped], self.steps[stopped] = norm[done], t
        self.diverged_at[self.active[done & diverged]] = t
        going = ~done
        self.active, self.theta = self.active[going], self.theta[going]
        self.velocity = self.velocity[going]
        return gradient[going]

    def outcome(self) -> Sweep:
        stable = self.diverged_at < 0
        by_gradient = stable & (self.grad_norm < self.criterion.grad_tol)
        converged_at = np.where(by_gradient, self.below_at, -1)
        if self.criterion.name == "objective":
            stalled = stable & (self.steps - self.gained_at >= self.window)
            converged_at = np.where(stalled & ~by_gradient, self.gained_at, converged_at)
        return Sweep(self.rates, self.final_loss, self.grad_norm, self.final, self.steps,
                     self.diverged_at, converged_at, self.cut_at, self.spared)


def _evaluate(problem: Problem, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    loss, gradient = problem.loss_and_gradient(theta)
    loss = np.asarray(loss, dtype=float)
    if loss.shape != (len(theta),):   # a constant objective: one value for the batch
        loss = np.broadcast_to(loss.reshape(-1), (len(theta),))
    gradient = np.asarray(gradient, dtype=float)
    return loss, np.broadcast_to(gradient, theta.shape) if gradient.shape != theta.shape \
        else gradient


def largest_eigenvalue(product: Product, size: int, seed: int = 0) -> tuple[float, int]:
    """(the largest eigenvalue of the symmetric operator v ↦ product(v), the products it
    took): power iteration, which finds the eigenvalue largest in magnitude; if that is
    negative, again on the spectrum shifted by it, whose largest magnitude is then the top."""
    dominant, used = _power_iteration(product, size, seed)
    if not dominant < 0:
        return dominant, used
    shifted, more = _power_iteration(lambda v: product(v) - dominant * v, size, seed)
    return shifted + dominant, used + more


def _power_iteration(product: Product, size: int, seed: int) -> tuple[float, int]:
    vector = np.random.default_rng(seed).normal(size=size)
    vector /= np.linalg.norm(vector)
    estimate = 0.0
    for iteration in range(1, POWER_ITERATIONS + 1):
        image = np.asarray(product(vector), dtype=float)
        estimate = float(vector @ image)   # the Rayleigh quotient
        length = float(np.linalg.norm(image))
        residual = float(np.linalg.norm(image - estimate * vector))
        if not np.isfinite(length) or length == 0.0 or residual <= POWER_TOLERANCE * length:
            return estimate, iteration
        vector = image / length
    return estimate, POWER_ITERATIONS


def grid_points(size: int) -> int:
    """GRID_POINTS, fewer (odd, at least MIN_GRID_POINTS) where the batch would hold more than
    MAX_BATCH_SCALARS numbers; 0 where even those would."""
    points = GRID_POINTS
    while points > MIN_GRID_POINTS and points * size > MAX_BATCH_SCALARS:
        points -= 2
    return points if points * size <= MAX_BATCH_SCALARS else 0


def work_budget(run_steps: Sequence[int] | None, spec_steps: int, points: int) -> int:
    """The steps the map's rows may take in all: WORK_FACTOR times what defaults.RUNS runs
    of the convergence runs' mean length take (without them, of at most UNRUN_STEPS), and at
    least points × MIN_STEPS. The same seed takes the same steps: the cap is reproducible."""
    mean = float(np.mean(run_steps)) if run_steps else float(min(spec_steps, UNRUN_STEPS))
    return max(int(WORK_FACTOR * defaults.RUNS * mean), points * MIN_STEPS)


def skip_reason(optimizer: Optimizer) -> str | None:
    """Why this optimizer gets no map (None: it gets one)."""
    if optimizer.method not in METHODS:
        return (f"optimizer.method {optimizer.method} has no single learning-rate stability "
                f"bound; the map covers {' and '.join(METHODS)}")
    schedule = getattr(optimizer, "schedule", "constant")
    name = getattr(schedule, "name", schedule)
    if name not in (None, "constant"):
        return (f"the learning rate follows the {name} schedule; the map covers a constant "
                "learning rate")
    return None


def learning_rate_map(problem: Problem, optimizer: Optimizer, initial: np.ndarray, *,
                      criterion: Criterion = Criterion(),
                      run_steps: Sequence[int] | None = None,
                      minimum: np.ndarray | None = None, minimum_from: str = "",
                      kinks: Sequence[str] = (), seed: int = 0,
                      progress: Progress | None = None) -> dict[str, Any]:
    """The map as report.json holds it (see `_document`), or {"skipped": reason}.

    Args:
        problem: the compiled objective; optimizer: the spec's (gd or momentum).
        initial: the point (P,) every rate starts from.
        criterion: when a row counts as converged (the convergence check's).
        run_steps: the steps each convergence run took, for the work cap (`work_budget`).
        minimum, minimum_from: the minimum found (where L is estimated) and where it came
            from in words; without it, the end of the spec's own rate on the map.
        kinks: the objective's non-differentiable points, in words (no bound with any).
    """
    reason = skip_reason(optimizer)
    points = grid_points(problem.size)
    if reason is None and not points:
        reason = (f"{problem.size} parameters: {MIN_GRID_POINTS} rates at once would hold "
                  f"more than {MAX_BATCH_SCALARS} numbers")
    if reason is None and problem.size == 0:
        reason = "the objective has no parameters"
    if reason is not None:
        return {"skipped": reason}
    swept = sweep(problem, initial, optimizer, grid(optimizer.learning_rate, points),
                  criterion=criterion, work=work_budget(run_steps, optimizer.steps, points),
                  keep=None if run_steps is None else points // 2, progress=progress)
    if minimum is None:
        minimum, minimum_from = _end_of_spec_row(swept)
    curvature, omitted = _curvature(problem, minimum, kinks, seed)
    return _document(swept, optimizer, criterion, curvature, omitted, minimum_from)


def _end_of_spec_row(swept: Sweep) -> tuple[np.ndarray | None, str]:
    middle = len(swept.rates) // 2
    if swept.diverged_at[middle] < 0:
        return swept.final[middle], "the end of the spec's rate on the map"
    stable = np.flatnonzero(swept.diverged_at < 0)
    if not stable.size:
        return None, ""
    best = stable[np.argmin(swept.final_loss[stable])]
    return swept.final[best], f"the end of rate {swept.rates[best]:.3g} on the map"


Omitted = tuple[str, str]   # why there is no bound: in brief (the verdict), and in full


def _curvature(problem: Problem, minimum: np.ndarray | None, kinks: Sequence[str],
               seed: int) -> tuple[tuple[float, int] | None, Omitted | None]:
    """((L, power iterations), None), or (None, why there is no bound)."""
    if kinks:
        shown = ", ".join(kinks[:3]) + (" …" if len(kinks) > 3 else "")
        return None, ("the objective has kinks", f"the objective has kinks ({shown}), where "
                      "the Hessian says nothing about stability")
    if minimum is None:
        return None, ("every rate diverged", "every rate diverged: no minimum was found to "
                      "measure the curvature at")
    point = np.asarray(minimum, dtype=float)
    with np.errstate(all="ignore"):
        largest, iterations = largest_eigenvalue(
            lambda v: problem.hessian_vector(point, v), problem.size, seed)
    if not np.isfinite(largest) or largest <= 0:
        return None, ("no positive curvature", f"the largest Hessian eigenvalue at the minimum "
                      f"found is {largest:.3g}: no positive curvature bounds the learning rate")
    return (largest, iterations), None


def _document(swept: Sweep, optimizer: Optimizer, criterion: Criterion,
              curvature: tuple[float, int] | None, omitted: Omitted | None,
              minimum_from: str) -> dict[str, Any]:
    method = METHODS[optimizer.method]
    largest = curvature[0] if curvature else None
    bound = method.factor(optimizer) / largest if largest else None
    return {
        "method": optimizer.method,
        "rates": swept.rates.tolist(),
        "final_loss": swept.final_loss.tolist(),
        "grad_norm": swept.grad_norm.tolist(),
        "diverged_at": [None if at < 0 else int(at) for at in swept.diverged_at],
        "converged_at": [None if at < 0 else int(at) for at in swept.converged_at],
        "steps_taken": swept.steps.tolist(),
        "spec_rate": optimizer.learning_rate,
        "steps": int(swept.steps.max()),
        "spec_steps": optimizer.steps,
        "cut_at": None if swept.cut_at < 0 else swept.cut_at,
        "cut_spared_spec_rate": swept.spared,
        "criterion": criterion.name,
        "grad_tol": criterion.grad_tol,
        "loss_tol": criterion.loss_tol,
        "L": largest,
        "L_at": minimum_from if curvature else None,
        "L_iterations": curvature[1] if curvature else None,
        "bound": bound,
        "bound_name": method.bound,
        "bound_omitted": omitted[1] if omitted else None,
        "momentum": optimizer.momentum if optimizer.method == "momentum" else None,
        "fastest": _fastest(swept),
        "verdict": verdict(optimizer, bound, omitted[0] if omitted else "", swept),
    }


def _fastest(swept: Sweep) -> float | None:
    """The grid's rate that converged in the fewest steps (the larger on a tie), of those
    that converged to the lowest loss (within SAME_LOSS): not one stuck on a plateau."""
    converged = np.flatnonzero(swept.converged_at >= 0)
    if not converged.size:
        return None
    lowest = float(np.min(swept.final_loss[converged]))
    converged = converged[swept.final_loss[converged]
                          <= lowest + SAME_LOSS * max(1.0, abs(lowest))]
    order = np.lexsort((-swept.rates[converged], swept.converged_at[converged]))
    return float(swept.rates[converged[order[0]]])


def verdict(optimizer: Optimizer, bound: float | None, omitted: str, swept: Sweep) -> str:
    """'learning_rate 0.25 is above 2/L = 0.2: gradient descent diverges here; …'."""
    method, rate = METHODS[optimizer.method], optimizer.learning_rate
    name = f"{method.bound} = {bound:.3g}" if bound is not None else ""
    if bound is None:
        where = f"learning_rate {rate:.3g}: no stability bound ({omitted})"
    elif np.isclose(rate, bound, rtol=1e-9, atol=0.0):
        where = f"learning_rate {rate:.3g} is at {name}: {method.what} oscillates here"
    elif rate > bound:
        where = f"learning_rate {rate:.3g} is above {name}: {method.what} diverges here"
    else:
        where = f"learning_rate {rate:.3g} is below {name} ({rate / bound:.2g} of it)"
    fastest = _fastest(swept)
    if fastest is None:
        return f"{where}; no rate on the grid converged within {swept.steps.max()} steps"
    row = int(np.flatnonzero(swept.rates == fastest)[0])
    return (f"{where}; the fastest rate on the grid that converged: {fastest:.3g} "
            f"({swept.converged_at[row]} steps, to loss {swept.final_loss[row]:.6g})")
