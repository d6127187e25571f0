"""Gradient verdicts from the oracle: every coordinate when P is small, random directions
when it is large, the same rules either way.

How it works: f's noise is measured once per point, along a random direction
(`oracle.measure_noise`, 8 evaluations). Up to `DIRECTIONAL_ABOVE` parameters, every
coordinate is a line of its own, stepped by a multiple of max(1, |xᵢ|) made exact
(xᵢ + h − xᵢ), all coordinates of one step in one batched call; the oracle's ladder picks
each coordinate's step. Above it, `DIRECTIONS` random Rademacher directions v (entries
±1/√P) are checked instead: vᵀg against the derivative of f along v, each with the bound
of its own difference (not a share of Σ|gᵢvᵢ|, which would hide one wrong entry among
many). A failing direction is localised by bisection: the half of its coordinates whose
own directional check is further beyond its tolerance is kept, down to one coordinate,
which gets a coordinate check of its own: about 2·log₂(P) more lines, so the message still
names the entry.

Detection power of the directional mode (a single entry i wrong by δ·|gᵢ|): the error
moves vᵀg by δ·|gᵢ|/√P, which fails once it exceeds the direction's bound plus
rtol·|vᵀg|; with |vᵀg| ≈ ‖g‖/√P that is δ ≳ rtol·‖g‖/|gᵢ| + √P·bound/|gᵢ|, and in practice
less, since the smallest |vᵀg| of the 4 directions sets it. Measured
(tests/benchmarks/bench_oracle.py, 20 seeds, rtol 1e-6, f = Σ sin(aᵢxᵢ) + 0.1·Σxᵢ²):
every δ ≥ 1e-3 is caught and named at P = 1,000 and 100,000 (19/20 at 10,000); δ = 1e-4 in
18/20 (P = 1,000 and 10,000) and 11/20 (P = 100,000); a correct gradient never failed and
a failure never named the wrong entry.

Costs per point: the noise table (48 evaluations, more where f is flat at small steps
or a pole is nearer than them, and 8 along a second direction) plus about 12–25
evaluations per coordinate (small P) or per direction (large P), whatever P is
(measured: 116 in all at P = 201 and 134 at P = 100,000); plus about 30·log₂(P) to
localise a failure (782 evaluations in all at P = 100,000).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .oracle import (
    EPSILON,
    RESOLUTION,
    ZERO_SCALE,
    Estimate,
    Judgement,
    Line,
    derivative,
    judge,
    measure_noise,
)

DIRECTIONAL_ABOVE = 200   # parameters; above, random directions instead of every coordinate
DIRECTIONS = 4            # random directions per point in the directional mode
EXACT_ROUNDING = 64.0     # ulps of Σ|gᵢvᵢ| the exact vᵀg may carry from its own rounding
NOISE_DOMINATES = 0.01    # noise above this share of |f| nearby: f has no digits to difference

Points = Callable[[np.ndarray], np.ndarray]   # points (K, P) -> values (K,)
Describe = Callable[[int], str]               # coordinate -> its name ("W1[17, 403]")


@dataclass(frozen=True, eq=False)
class GradientVerdict:
    """The oracle's verdict on an exact gradient at one point.

    `verdict` is 'pass', 'fail' or 'inconclusive'; `reason` says why when it is not a pass.
    Per coordinate (NaN / '' where a coordinate was not compared on its own): `estimate`,
    `bound`, `tolerance`, `difference`, `verdicts`. `worst` is the coordinate named (the
    worst, or the one a failing direction was localised to). `directions` holds one
    (exact vᵀg, estimate, bound, verdict) per direction checked; `steps` the displacement
    of each coordinate in the differences used (for the kink test); `noise` f's measured
    noise at the point; `evaluations` the calls of f."""

    verdict: str
    mode: str
    scheme: str
    exact: np.ndarray
    estimate: np.ndarray
    bound: np.ndarray
    tolerance: np.ndarray
    difference: np.ndarray
    verdicts: np.ndarray
    worst: int | None
    reason: str | None
    steps: np.ndarray
    noise: float
    evaluations: int
    directions: list[tuple[float, float, float, str]] = field(default_factory=list)
    direction: np.ndarray | None = None   # the first random direction (a unit vector)
    chaotic: bool = False   # f's values near x are noise: no scheme can check it there

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def max_rel_error(self) -> float:
        """The largest |exact − estimate| / |exact| over the components that passed on their
        own size (bound within RESOLUTION of it, above ZERO_SCALE of the largest): what the
        check confirmed."""
        if self.mode == "directions" and not np.any(self.verdicts == "pass"):
            along = [abs(e - d) / max(abs(e), abs(d)) for e, d, _, v in self.directions
                     if v == "pass" and max(abs(e), abs(d)) > 0]
            return max(along, default=0.0)
        size = np.maximum(np.abs(self.exact), np.abs(self.estimate))
        top = float(np.nanmax(size, initial=0.0))
        with np.errstate(all="ignore"):
            # components judged on their own size (not against the floor of a zero one)
            counted = (self.verdicts == "pass") & (size > ZERO_SCALE * top) & \
                (self.bound <= RESOLUTION * size)
            relative = np.where(counted, self.difference / size, 0.0)
        return float(np.nanmax(relative, initial=0.0))


class _Counted:
    """f on batches of points, counting the points."""

    def __init__(self, f: Points):
        self.f, self.calls = f, 0

    def __call__(self, points: np.ndarray) -> np.ndarray:
        self.calls += len(points)
        with np.errstate(all="ignore"):
            return np.asarray(self.f(points), dtype=float).reshape(len(points))


def verify_gradient(f: Points, x: np.ndarray, exact: np.ndarray, *, rtol: float,
                    atol: float = 0.0, richardson: bool = False, seed: int = 0,
                    describe: Describe | None = None, directional: bool | None = None,
                    directions: int = DIRECTIONS) -> GradientVerdict:
    """The verdict on `exact` (P,) as the gradient of f at x (P,); f maps (K, P) → (K,).

    `directional` forces the mode (default: directions above DIRECTIONAL_ABOVE)."""
    x = np.asarray(x, dtype=float).reshape(-1)
    exact = np.asarray(exact, dtype=float).reshape(-1)
    describe = describe or (lambda i: f"x[{i}]")
    counted = _Counted(f)
    rng = np.random.default_rng(seed)
    center = counted(x[None])[0]
    if not np.isfinite(center):   # a numeric fault: a failed check, never a pass
        return _unjudgeable(x, exact, f"f is not finite at the point itself ({center})",
                            counted.calls, richardson, verdict="fail")
    noise, start, size = _point_noise(counted, x, center, rng)
    if noise > NOISE_DOMINATES * size:
        return _chaotic(x, exact, noise, size, counted.calls, richardson)
    use_directions = x.size > DIRECTIONAL_ABOVE if directional is None else directional
    checker = _Checker(counted, x, exact, center, noise, start, rtol, atol, richardson,
                       describe)
    if not use_directions:
        return checker.coordinates(np.arange(x.size), "components")
    return checker.directions(rng, directions)


def screen(f: Points, x: np.ndarray, exact: np.ndarray, seed: int = 0
           ) -> GradientVerdict | None:
    """The inconclusive verdict where f's values near x are noise (no scheme, not even the
    complex step, can check a derivative there: sin(x⁶⁴) at x = 2), else None."""
    x = np.asarray(x, dtype=float).reshape(-1)
    counted = _Counted(f)
    center = counted(x[None])[0]
    if not np.isfinite(center):
        return None
    noise, _, size = _point_noise(counted, x, center, np.random.default_rng(seed))
    if noise > NOISE_DOMINATES * size:
        return _chaotic(x, np.asarray(exact, dtype=float).reshape(-1), noise, size,
                        counted.calls, False)
    return None


def _chaotic(x: np.ndarray, exact: np.ndarray, noise: float, size: float, calls: int,
             richardson: bool) -> GradientVerdict:
    return dataclasses.replace(_unjudgeable(
        x, exact, f"f's values near the point are noise ({noise:.2g} against values up to "
        f"{size:.2g}): f is not computed to any digit there (an argument far too large for "
        "sin or exp?)", calls, richardson), chaotic=True)


def _along(f: Points, x: np.ndarray, v: np.ndarray, scale: float) -> Line:
    """f (K, P) → (K,) on the line x + u·scale·v, one entry: the steps are u·scale."""
    return Line(lambda u: f(x[None, :] + (u * scale)[:, None] * v[None, :]), _scaled(scale),
                lambda i, h: f"x + {h:.2g}·v")


def _point_noise(f: _Counted, x: np.ndarray, center: float, rng: np.random.Generator
                 ) -> tuple[float, float, float]:
    """(f's noise at x, the unit offset steps start at, and the largest |f| seen nearby)."""
    v = rng.choice([-1.0, 1.0], size=x.size) / np.sqrt(x.size)
    scale = max(1.0, float(np.max(np.abs(x))))
    seen = [abs(center)]

    def values(points: np.ndarray) -> np.ndarray:
        out = f(points)
        finite = out[np.isfinite(out)]
        seen.append(float(np.max(np.abs(finite), initial=0.0)))
        return out

    line = _along(values, x, v, scale)
    report: dict = {}
    noise, start = measure_noise(line, np.array([center]), report)
    # a second line, at the largest δ only: along one direction f may be symmetric
    # (x₁² + x₂² along (1, −1) at x₁ = x₂), its rounding staircase regular and unseen
    if x.size > 1:   # the largest coordinate: Rademacher directions of 2 entries repeat
        w = np.zeros(x.size)
        w[int(np.argmax(np.abs(x)))] = 1.0
        other = _along(values, x, w, scale)
        second: dict = {}
        level, _ = measure_noise(other, np.array([center]), second, attempts=1)
        if bool(second["credible"][0]):
            noise = np.maximum(noise, level)
    # the noise a share of f's values themselves, along both lines: f is chaotic there
    # (along one alone f may be constant: sin a + sin b along (1, 1) at b = a + π)
    return float(noise[0]), start, max(seen)


class _Checker:
    def __init__(self, f: _Counted, x: np.ndarray, exact: np.ndarray, center: float,
                 noise: float, start: float, rtol: float, atol: float, richardson: bool,
                 describe: Describe):
        self.f, self.x, self.exact, self.center, self.noise = f, x, exact, center, noise
        self.start = start
        self.rtol, self.atol, self.richardson, self.describe = rtol, atol, richardson, describe
        self.scale = np.maximum(1.0, np.abs(x))
        with np.errstate(all="ignore"):
            self.largest = float(np.max(np.abs(exact[np.isfinite(exact)]), initial=0.0))

    # -- every coordinate of a set, each its own line

    def _coordinate_estimate(self, coordinates: np.ndarray) -> Estimate:
        x, scale, f = self.x, self.scale[coordinates], self.f
        rows = np.arange(coordinates.size)

        def taken(u: np.ndarray) -> np.ndarray:
            return (x[coordinates][None, :] + u[:, None] * scale[None, :]) - x[coordinates]

        def slack(u: np.ndarray) -> np.ndarray:
            # fl(xᵢ + h) − xᵢ is not exact where h ≫ |xᵢ| (x + h loses digits of xᵢ, all of
            # them at h > |xᵢ|/ε): the residual of recomputing xᵢ from it says by how much
            moved = x[coordinates][None, :] + u[:, None] * scale[None, :]
            return np.abs((moved - (moved - x[coordinates])) - x[coordinates])

        def values(u: np.ndarray) -> np.ndarray:
            moved = taken(u)
            out = np.empty(moved.shape)
            for j in range(len(u)):   # one batched call per step: every coordinate moved
                points = np.repeat(x[None, :], coordinates.size, axis=0)
                points[rows, coordinates] += moved[j]
                out[j] = f(points)
            return out

        def where(i: int, h: float) -> str:
            return f"{self.describe(int(coordinates[i]))} {'+' if h >= 0 else '-'} {abs(h):.2g}"

        line = Line(values, taken, where, slack=slack)
        noise = np.full(coordinates.size, self.noise)
        return derivative(line, np.full(coordinates.size, self.center), noise, self.start,
                          richardson=self.richardson)

    def coordinates(self, coordinates: np.ndarray, mode: str,
                    directions: list[tuple[float, float, float, str]] | None = None
                    ) -> GradientVerdict:
        estimate = self._coordinate_estimate(coordinates)
        judged = judge(self.exact[coordinates], estimate, rtol=self.rtol, atol=self.atol,
                       scale=ZERO_SCALE * self.largest)
        full = self._spread(coordinates, estimate, judged)
        steps = np.zeros(self.x.size)
        steps[coordinates] = estimate.step
        verdict = judged.overall()
        worst, reason = self._worst(coordinates, estimate, judged)
        estimates, bounds, tolerances, differences, verdicts = full
        return GradientVerdict(verdict, mode, self._scheme, self.exact, estimates, bounds,
                               tolerances, differences, verdicts, worst,
                               reason if verdict != "pass" else None, steps, self.noise,
                               self.f.calls, directions or [])

    def _spread(self, coordinates: np.ndarray, estimate: Estimate, judged: Judgement
                ) -> tuple[np.ndarray, ...]:
        arrays = []
        for values, fill in ((estimate.value, np.nan), (estimate.bound, np.nan),
                             (judged.tolerance, np.nan), (judged.difference, np.nan)):
            full = np.full(self.x.size, fill)
            full[coordinates] = values
            arrays.append(full)
        verdicts = np.full(self.x.size, "", dtype=object)
        verdicts[coordinates] = judged.verdicts
        return (*arrays, verdicts)

    def _worst(self, coordinates: np.ndarray, estimate: Estimate, judged: Judgement
               ) -> tuple[int | None, str | None]:
        with np.errstate(all="ignore"):
            ratio = np.where(judged.difference > 0, judged.difference / judged.tolerance, 0.0)
        failing = np.flatnonzero(judged.verdicts == "fail")
        if failing.size:
            pick = failing[int(np.nanargmax(np.nan_to_num(ratio[failing], nan=np.inf)))]
            i = int(coordinates[pick])
            return i, (f"gradient of {self.describe(i)}: exact {self.exact[i]:.6g}, "
                       f"finite-difference {estimate.value[pick]:.6g} (|diff| "
                       f"{judged.difference[pick]:.2e} > tol {judged.tolerance[pick]:.2e})")
        open_ = np.flatnonzero(judged.verdicts == "inconclusive")
        if open_.size:
            pick = open_[int(np.argmax(np.nan_to_num(estimate.bound[open_], nan=np.inf,
                                                     posinf=np.inf)))]
            i = int(coordinates[pick])
            return i, self._undecided(i, estimate, pick)
        return (int(coordinates[int(np.nanargmax(ratio))]) if coordinates.size else None), None

    def _undecided(self, i: int, estimate: Estimate, pick: int) -> str:
        if estimate.note is not None and (not np.isfinite(estimate.bound[pick])
                                          or "edge" in estimate.note
                                          or estimate.unchanged is not None
                                          and estimate.unchanged[pick]):
            return f"gradient of {self.describe(i)}: {estimate.note}"
        return (f"gradient of {self.describe(i)}: f's noise ({self.noise:.1e}) allows no check "
                f"tighter than {estimate.bound[pick]:.1e} (exact {self.exact[i]:.6g}, "
                f"finite-difference {estimate.value[pick]:.6g}); try scheme='complex', or "
                "compute f in higher precision")

    @property
    def _scheme(self) -> str:
        return "richardson" if self.richardson else "central"

    # -- random directions, for large P

    def _direction(self, v: np.ndarray) -> tuple[Estimate, Judgement, float]:
        x, f = self.x, self.f
        scale = max(1.0, float(np.max(np.abs(x[v != 0]), initial=1.0)))
        exact = float(self.exact @ v)
        products = np.abs(self.exact * v)
        # x + h·v rounds each moved coordinate by up to half an ulp of xᵢ
        moved = 0.5 * EPSILON * float(np.sum(np.abs(self.exact * x)[v != 0]))
        line = _along(f, x, v, scale)
        estimate = derivative(line, np.array([self.center]), np.array([self.noise + moved]),
                              self.start, richardson=self.richardson)
        moving = self.exact[v != 0]
        largest = float(np.max(np.abs(moving), initial=0.0))
        with np.errstate(all="ignore"):   # the RMS of entries up to 1e200, without overflow
            typical = largest * float(np.sqrt(np.mean((moving / largest) ** 2))) \
                if largest > 0 and np.isfinite(largest) else largest
        judged = judge(np.array([exact]), estimate, rtol=self.rtol, atol=self.atol,
                       allowance=EXACT_ROUNDING * EPSILON * float(np.sum(products)),
                       scale=ZERO_SCALE * typical * float(np.sum(np.abs(v))))
        return estimate, judged, exact

    def directions(self, rng: np.random.Generator, count: int) -> GradientVerdict:
        seen: list[tuple[float, float, float, str]] = []
        steps = np.zeros(self.x.size)
        first = None
        for _ in range(count):
            v = rng.choice([-1.0, 1.0], size=self.x.size) / np.sqrt(self.x.size)
            first = v if first is None else first
            estimate, judged, exact = self._direction(v)
            verdict = str(judged.verdicts[0])
            seen.append((exact, float(estimate.value[0]), float(estimate.bound[0]), verdict))
            steps = np.maximum(steps, float(estimate.step[0]) * np.abs(v))
            if verdict == "fail":
                return dataclasses.replace(self._localise(v, seen), direction=first)
        open_ = [s for s in seen if s[3] == "inconclusive"]
        verdict = "inconclusive" if open_ else "pass"
        reason = None if not open_ else (
            f"the derivative along a random direction: exact {open_[0][0]:.6g}, "
            f"finite-difference {open_[0][1]:.6g}; f's noise ({self.noise:.1e}) allows no "
            f"check tighter than {open_[0][2]:.1e}")
        nan = np.full(self.x.size, np.nan)
        return GradientVerdict(verdict, "directions", self._scheme, self.exact, nan, nan, nan,
                               nan, np.full(self.x.size, "", dtype=object), None, reason,
                               steps, self.noise, self.f.calls, seen, first)

    def _localise(self, v: np.ndarray,
                  seen: list[tuple[float, float, float, str]]) -> GradientVerdict:
        support = np.flatnonzero(v)
        while support.size > 1:
            halves = np.array_split(support, 2)
            ratios = []
            for half in halves:
                part = np.zeros_like(v)
                part[half] = v[half]
                _, judged, _ = self._direction(part)
                with np.errstate(all="ignore"):
                    ratios.append(float(np.nan_to_num(judged.difference[0] / judged.tolerance[0],
                                                      nan=0.0)))
            support = halves[int(np.argmax(ratios))]
        located = self.coordinates(support, "directions", seen)
        if located.verdict == "fail":
            return located
        exact, estimate, bound, _ = seen[-1]
        reason = (f"the derivative along a random direction disagrees: exact {exact:.6g}, "
                  f"finite-difference {estimate:.6g} (bound {bound:.1e}); no single entry "
                  "fails on its own (several small errors?)")
        return GradientVerdict("fail", "directions", self._scheme, self.exact,
                               located.estimate, located.bound, located.tolerance,
                               located.difference, located.verdicts, located.worst, reason,
                               located.steps, self.noise, self.f.calls, seen)


def _unjudgeable(x: np.ndarray, exact: np.ndarray, reason: str, calls: int,
                 richardson: bool, verdict: str = "inconclusive") -> GradientVerdict:
    nan = np.full(x.size, np.nan)
    return GradientVerdict(verdict, "components", "richardson" if richardson
                           else "central", exact, nan, nan, nan, nan,
                           np.full(x.size, "", dtype=object), None, reason, np.zeros(x.size),
                           float("nan"), calls)


@dataclass(frozen=True, eq=False)
class HessianVerdict:
    """The oracle's verdict on exact Hessian-vector products at one point: per direction v
    (the coordinates for small P, random directions above DIRECTIONAL_ABOVE), H·v against
    the derivative of the exact gradient along v, entry by entry. `reason` names the entry
    (and the coordinate or direction) that failed, or why none could be decided."""

    verdict: str
    reason: str | None
    mode: str
    evaluations: int
    max_rel_error: float


def verify_hessian(gradient: Callable[[np.ndarray], np.ndarray],
                   hessian_vector: Callable[[np.ndarray, np.ndarray], np.ndarray],
                   x: np.ndarray, *, rtol: float, atol: float = 0.0, seed: int = 0,
                   describe: Describe | None = None, directions: int = DIRECTIONS
                   ) -> HessianVerdict:
    """The verdict on `hessian_vector(x, v)` as the derivative of `gradient` (P,) → (P,)
    along v, for every coordinate v = eⱼ up to DIRECTIONAL_ABOVE parameters and for a few
    random directions above."""
    x = np.asarray(x, dtype=float).reshape(-1)
    describe = describe or (lambda i: f"x[{i}]")
    calls = [0]

    def along(v: np.ndarray, scale: float) -> Callable[[np.ndarray], np.ndarray]:
        def values(u: np.ndarray) -> np.ndarray:
            calls[0] += len(u)
            with np.errstate(all="ignore"):
                return np.stack([np.asarray(gradient(x + t * scale * v), dtype=float)
                                 for t in u])
        return values

    center = np.asarray(gradient(x), dtype=float)
    rng = np.random.default_rng(seed)
    if x.size <= DIRECTIONAL_ABOVE:
        plan = [(np.eye(x.size)[j], f"column {describe(j)}", max(1.0, abs(float(x[j]))))
                for j in range(x.size)]
        mode = "components"
    else:
        plan = [(rng.choice([-1.0, 1.0], size=x.size) / np.sqrt(x.size), "a random direction",
                 max(1.0, float(np.max(np.abs(x))))) for _ in range(directions)]
        mode = "directions"
    worst_rel, open_ = 0.0, []
    for v, label, scale in plan:
        exact = np.asarray(hessian_vector(x, v), dtype=float)
        line = Line(along(v, scale), _scaled(scale), lambda i, h: f"x + {h:.2g}·v")
        noise, start = measure_noise(line, center)
        estimate = derivative(line, center, noise, start)
        top = float(np.max(np.abs(exact), initial=0.0))
        judged = judge(exact, estimate, rtol=rtol, atol=atol,
                       allowance=EXACT_ROUNDING * EPSILON * top, scale=ZERO_SCALE * top)
        failing = np.flatnonzero(judged.verdicts == "fail")
        if failing.size:
            i = int(failing[np.argmax(judged.difference[failing] / judged.tolerance[failing])])
            entry = f"({describe(i)}, {label[len('column '):]})" if mode == "components" \
                else f"{describe(i)} of H·v along {label}"
            reason = (f"Hessian entry {entry}: exact {exact[i]:.6g}, finite-difference of the "
                      f"gradient {estimate.value[i]:.6g} (|diff| {judged.difference[i]:.2e} > "
                      f"tol {judged.tolerance[i]:.2e})")
            return HessianVerdict("fail", reason, mode, calls[0], worst_rel)
        undecided = np.flatnonzero(judged.verdicts == "inconclusive")
        if undecided.size:
            i = int(undecided[0])
            open_.append(f"H·v entry {describe(i)} along {label}: the gradient's noise allows "
                         f"no check tighter than {estimate.bound[i]:.1e}")
        with np.errstate(all="ignore"):
            size = np.maximum(np.abs(exact), np.abs(estimate.value))
            counted = (judged.verdicts == "pass") & (size > ZERO_SCALE * max(top, 1e-300))
            relative = np.where(counted, judged.difference / size, 0.0)
        worst_rel = max(worst_rel, float(np.nanmax(relative, initial=0.0)))
    verdict = "inconclusive" if open_ else "pass"
    return HessianVerdict(verdict, open_[0] if open_ else None, mode, calls[0], worst_rel)


def _scaled(scale: float) -> Callable[[np.ndarray], np.ndarray]:
    """Unit offsets → the displacement along a direction of that scale, (m, 1)."""
    return lambda u: (u * scale)[:, None]
