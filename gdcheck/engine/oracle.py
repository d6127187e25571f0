"""The finite-difference oracle: a derivative along a line, with f's noise measured and the
step chosen from it, and a bound on the estimate's error that a verdict can trust.

How it works, for φ(t) = f(x + t·v) (values of any shape, compared entry by entry):

1. **Noise** (`measure_noise`, after Moré & Wild, *Estimating Computational Noise*, 2011).
   φ at nine points t = −4δ … 4δ; the k-th differences of a smooth function fall like δᵏ
   while those of noise do not, so the first level k whose estimate
   σₖ = √(γₖ · mean(Δᵏφ²)), γₖ = (k!)²/(2k)!, agrees within a factor 4 with the next two,
   and whose differences change sign, is the noise level ε_f. δ starts at 1e-7 of the
   line's scale and moves by 100 while the table says it is too large (no level agrees)
   or too small (most differences are exactly 0). A float32 computation inside f shows up
   as ε_f ≈ 1e-7·|f|, a sum of many terms as its rounding, an offset of 1e12 as its ulp.
   A table whose level is far above the typical step between its neighbours is not
   noise but one value apart from the rest: a pole straddled by δ (2/x at x = 1e-12
   gives the same "level" at every δ > x). Where every table is like that, δ goes on
   shrinking (down to 1e-305) until two are intact, and the steps start there.
2. **Step** (`derivative`). Central differences D(h) at steps h₀·4⁻ᵏ: their truncation
   error falls like h² and their noise grows like ε_f/h, so the bound at each step is
   the larger of |D(4h) − D(h)|/6 and |D(h) − D(h/4)| (each estimates the truncation;
   taking both guards against two steps agreeing by chance on an oscillating f or a
   quantised one) plus 3·ε_f/h. The ladder grows toward smaller steps while the smallest
   is best and toward larger ones while the largest is best and noise dominates, until
   two of the three steps above the best are past it, so the step follows f, not the
   size of x; where the largest step allowed (half the line's scale) is the best, one
   step larger is taken only to bound its truncation from above. `richardson=True`
   compares the extrapolations D(h) + (D(h) − D(4h))/15 instead (error ∝ h⁴). Where a
   stencil point is not finite the step shrinks; if no central stencil is finite,
   one-sided differences are used, and if none is, the estimate is NaN with a note
   naming the point (the edge of f's domain).
3. **Verdict** (`judge`): fail when |exact − estimate| exceeds the bound plus rtol·|exact|
   (plus the caller's allowances); pass when not, and the bound is tight enough to have
   seen an error of max(rtol, RESOLUTION) of the derivative's scale; otherwise
   inconclusive, with the bound reached. There is no fixed absolute floor: a gradient of
   1e-12 with its sign flipped fails wherever f is computed precisely enough to show it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EPSILON = float(np.finfo(np.float64).eps)
NOISE_POINTS = 8          # nine values φ(−4δ) … φ(4δ), φ(0) among them
NOISE_START = 1e-7        # δ, relative to the line's scale
NOISE_MOVE = 100.0        # factor by which δ moves between attempts
NOISE_ATTEMPTS = 6        # δ = 1e-7 … 1e-17
COARSE_LIMIT = 1e-2       # where f is flat at every δ, larger ones are tried up to this
DEEP_ATTEMPTS = 150       # δ down to 1e-305 where every table spiked (a pole nearer than δ)
SPIKE = 8.0               # a noise level this many typical steps of its table: one outlier
NOISE_SIGMAS = 3.0        # the noise term of a bound: this many ε_f over h
STEP_RATIO = 4.0
MAX_SHRINKS = 16          # steps below the start: no stencil finite, or f curves fast
MAX_LEVELS = 26           # steps on one ladder at most
MAX_UNIT = 0.5            # the largest step: half the coordinate's scale max(1, |xᵢ|)
RESOLUTION = 1e-3         # a pass must have been able to see an error this large (relative)
ZERO_SCALE = 1e-6         # a zero derivative is judged against this share of the largest


class Line:
    """Lines φᵢ(u) = f(x + u·sᵢ·vᵢ), one per entry i (the coordinates of a gradient check,
    or the entries of a vector f along one direction), evaluated together: `values(u)` maps
    unit offsets (m,) to (m, M) values; `taken(u)` gives the displacement each entry really
    moved, (m, M) or (m, 1) (x + h is rounded; its scale sᵢ sets where the steps start);
    `slack(u)` how far the real displacement may be from it (where xᵢ + h loses xᵢ);
    `describe(i, h)` names the point of entry i moved by h, for messages."""

    def __init__(self, values: Callable[[np.ndarray], np.ndarray],
                 taken: Callable[[np.ndarray], np.ndarray],
                 describe: Callable[[int, float], str],
                 slack: Callable[[np.ndarray], np.ndarray] | None = None):
        self._values = values
        self.taken = taken
        self.describe = describe
        self.slack = slack   # how far the real displacement may be from `taken` (m, M)

    def __call__(self, offsets: np.ndarray) -> np.ndarray:
        offsets = np.asarray(offsets, dtype=float)
        with np.errstate(all="ignore"):
            values = np.asarray(self._values(offsets), dtype=float)
        return values.reshape(len(offsets), -1)


def measure_noise(line: Line, center: np.ndarray, report: dict | None = None,
                  attempts: int = NOISE_ATTEMPTS) -> tuple[np.ndarray, float]:
    """(ε_f per entry of φ(0) = `center` (M,), the unit offset where the steps start).

    The table is taken at δ = 1e-7, 1e-9, … 1e-17 (unit offsets). Noise does not depend on
    δ, so the level kept is that of the largest δ whose level is credible: confirmed by the
    next δ (within 4×), or read from second or higher differences while the first show f's
    own change (a rounding staircase, such as log(1 + x²) at x = 1e-6, is only visible at
    a large δ). Failing that, the smallest level seen: where f oscillates faster than δ its
    values look like noise, and only a smaller δ shows it. Steps start at 4δ for the δ
    kept: f is known to be smooth there. `report`, if given, gets "credible": per entry,
    whether some δ gave a level to trust; `attempts` limits the δ tried (the largest
    first)."""
    center = np.asarray(center, dtype=float).reshape(-1)
    middle = NOISE_POINTS // 2
    outer = np.delete(np.arange(NOISE_POINTS + 1), middle)
    found, fallback, deltas, smooth = [], [], [], []
    quantum = np.full(center.size, np.inf)
    intact = np.zeros(center.size, dtype=int)   # tables neither spiked nor overflowed
    largest_intact = np.full(center.size, np.nan)
    spikes = np.zeros(center.size, dtype=bool)
    attempt = 0
    # past the usual δ only while some entry has seen fewer than two intact tables (one to
    # read a level from, the next to confirm it): a pole or an edge nearer than 1e-17
    # (1/x at x = 1e-18); x + δ stays exact that far below a tiny x
    while attempt < attempts or (attempts == NOISE_ATTEMPTS and attempt < DEEP_ATTEMPTS
                                 and np.any(intact < 2)):
        delta = NOISE_START / NOISE_MOVE**attempt
        attempt += 1
        offsets = delta * (np.arange(NOISE_POINTS + 1) - middle)
        values = np.empty((NOISE_POINTS + 1, center.size))
        values[middle] = center
        values[outer] = line(offsets[outer])
        level, flat, order = _noise_level(values)
        # noise shows between most neighbours; a level far above the typical step between
        # them comes from one value apart from the rest: a pole or a jump straddled by δ
        # (2/x at x = 1e-12 gives the same "level" at every δ > x), not from noise
        with np.errstate(all="ignore"):
            typical = np.median(np.abs(np.diff(values, axis=0)), axis=0)
        spiked = level > SPIKE * typical
        level = np.where(spiked, np.nan, level)
        whole = ~spiked & np.all(np.isfinite(values), axis=0)
        spikes |= spiked
        largest_intact = np.where(whole & (intact == 0), delta, largest_intact)
        intact += whole
        found.append(np.where(flat, np.nan, level))
        first = np.diff(values, axis=0)
        monotone = np.all(first > 0, axis=0) | np.all(first < 0, axis=0)
        # f's own change shows (monotone, and no first difference below the level: noise
        # that large would have broken the monotony), not an oscillation or a saturation
        smooth.append((order >= 2) & monotone & (level <= np.min(np.abs(first), axis=0)))
        # where some steps change nothing, the nonzero ones are f's resolution (float32 inside:
        # its ulps; a staircase of rounding)
        steps = np.where(first != 0, np.abs(first), np.inf)
        quantised = np.any(first == 0, axis=0)
        quantum = np.fmin(quantum, np.where(quantised, np.min(steps, axis=0), np.inf))
        fallback.append(np.where(flat | spiked, np.nan, _smallest_level(values)))
        deltas.append(delta)
    levels = np.array(found)
    # noise does not depend on δ: the largest δ whose level is credible (the next δ confirms
    # it within 4×, or f's own change shows in the first differences, so the level is not
    # an oscillation faster than δ) is kept; else the smallest level seen
    with np.errstate(all="ignore"):
        nearby = np.concatenate([levels[1:], np.full((1, center.size), np.nan)])  # next δ
        confirmed = (levels <= 4 * nearby) & (nearby <= 4 * levels)
        pair = np.where(confirmed, np.sqrt(levels * nearby), levels)
        confirmed |= np.array(smooth) & ~np.isnan(levels)
        smallest = np.nanmin(np.where(np.isnan(levels), np.inf, levels), axis=0)
        rough = np.nanmin(np.where(np.isnan(fallback), np.inf, np.array(fallback)), axis=0)
    noise = np.full(center.size, np.nan)
    # no level anywhere: f looks exact, and smooth from the largest δ whose table was intact
    start = 4 * np.where(np.isnan(largest_intact), deltas[0], largest_intact)
    for k in range(len(deltas)):
        take = np.isnan(noise) & confirmed[k]
        noise = np.where(take, pair[k], noise)
        start = np.where(take, 4 * deltas[k], start)
    if report is not None:   # whether some δ gave a level to trust (else: a fallback)
        report["credible"] = ~np.isnan(noise)
    at = np.argmin(np.where(np.isnan(levels), np.inf, levels), axis=0)
    lone = np.isnan(noise) & np.isfinite(smallest)
    noise = np.where(lone, smallest, noise)
    start = np.where(lone, 4 * np.array(deltas)[at], start)
    noise = np.where(np.isfinite(noise), noise, np.where(np.isfinite(rough), rough, 0.0))
    # every table flat (f unchanged within ±4e-7: float16 inside, a float32 sum): larger δ,
    # until a table shows f's resolution; the steps then start there
    coarse = ~np.isfinite(quantum) & np.all(np.isnan(levels), axis=0) & ~spikes
    delta = NOISE_START
    while np.any(coarse) and delta < COARSE_LIMIT:
        delta *= NOISE_MOVE
        values = np.empty((NOISE_POINTS + 1, center.size))
        values[middle] = center
        values[outer] = line(delta * (np.arange(NOISE_POINTS + 1) - middle)[outer])
        first = np.diff(values, axis=0)
        if not np.all(np.isfinite(first)):
            break
        steps = np.where(first != 0, np.abs(first), np.inf)
        shows = coarse & np.any(first != 0, axis=0)
        # a table whose noise level reads off is best; else, with steps that change nothing,
        # the smallest nonzero one is a quantum; else it spans several
        level, _, _ = _noise_level(values)
        smallest_step = np.min(steps, axis=0)
        seen = np.where(np.isfinite(level), 2 * level,
                        np.where(np.any(first == 0, axis=0), smallest_step, smallest_step / 4))
        quantum = np.where(shows, seen, quantum)
        start = np.where(shows, 4 * delta, start)
        coarse &= ~shows
    first_step = float(np.min(start))
    floor = 0.25 * EPSILON * np.abs(center)   # rounding to float64 at least
    floor = np.maximum(floor, np.where(np.isfinite(quantum), quantum / 2, 0.0))
    return np.maximum(noise, floor), first_step


def _noise_level(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moré–Wild's level per entry (NaN where the table shows none), which entries are
    flat (most first differences exactly 0: δ is below f's resolution), and the order of
    the differences the level was read from."""
    levels, changes = [], []
    table = values
    with np.errstate(all="ignore"):
        for k in range(1, 7):
            table = np.diff(table, axis=0)
            gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
            levels.append(np.sqrt(gamma * np.mean(table**2, axis=0)))
            changes.append((np.max(table, axis=0) > 0) & (np.min(table, axis=0) < 0))
        level = np.full(values.shape[1], np.nan)
        order = np.zeros(values.shape[1], dtype=int)
        for k in range(len(levels) - 2):
            window = np.stack(levels[k:k + 3])
            agree = changes[k] & (np.max(window, axis=0) <= 4 * np.min(window, axis=0))
            order = np.where(np.isnan(level) & agree, k + 1, order)
            level = np.where(np.isnan(level) & agree, levels[k], level)
        flat = np.mean(np.diff(values, axis=0) == 0, axis=0) >= 0.5
    return level, flat, order


def _smallest_level(values: np.ndarray) -> np.ndarray:
    table, smallest = values, np.full(values.shape[1], np.inf)
    with np.errstate(all="ignore"):
        for k in range(1, 7):
            table = np.diff(table, axis=0)
            gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
            smallest = np.fmin(smallest, np.sqrt(gamma * np.mean(table**2, axis=0)))
    return smallest


@dataclass(frozen=True, eq=False)
class Estimate:
    """A derivative along each line: `value`, its error `bound`, the `step` chosen (the
    displacement of each entry), the `noise` ε_f, the `secant` slope |φ(±h) − φ(0)|/h (a
    scale for zero derivatives), and a `note` where a stencil point was not finite."""

    value: np.ndarray
    bound: np.ndarray
    step: np.ndarray
    noise: np.ndarray
    secant: np.ndarray
    note: str | None = None
    unchanged: np.ndarray | None = None   # f took the same value at x ± step as at x


def derivative(line: Line, center: np.ndarray, noise: np.ndarray, start: float, *,
               richardson: bool = False) -> Estimate:
    """φᵢ'(0) per entry by central differences on a ladder of steps (see the module),
    growing from the unit offset `start` (where f is known to be smooth) until each entry's
    bound has risen for two steps past its minimum; shrinking where no stencil is finite."""
    center = np.asarray(center, dtype=float).reshape(-1)
    ladder = _Ladder(line, center, noise, richardson)
    ladder.extend(STEP_RATIO * start, 3 if richardson else 2)
    columns = np.arange(center.size)
    shrinks = 0
    while len(ladder.units) < MAX_LEVELS:
        best = ladder.best()
        broken = ~np.isfinite(ladder.bounds()[best, columns])
        edge = broken & ladder.not_finite()
        smallest = (best == len(ladder.units) - 1) & ~broken & ladder.truncated(best)
        if (np.any(edge) or np.any(smallest)) and shrinks < MAX_SHRINKS:
            shrinks += 1   # the domain's edge is closer, or f curves faster than the steps
            ladder.extend(ladder.units[-1] / STEP_RATIO, 1)
        settled = ladder.settled(best)
        # an entry past its optimum keeps its ladder as it is: the larger steps other
        # entries still need are not its to choose (far past a pole, differences of huge
        # steps can agree again by chance)
        ladder.ceiling = np.where(settled & np.isinf(ladder.ceiling), ladder.units[0],
                                  ladder.ceiling)
        if np.all(settled | edge):
            break
        if ladder.units[0] * STEP_RATIO <= MAX_UNIT:
            ladder.prepend()
        else:
            break
    if not richardson:
        ladder.probe()
    return ladder.estimate()


class _Ladder:
    """Central differences at unit offsets u₀·4⁻ᵏ, their bounds, and the one-sided
    fallback; each level holds φ(+h) and φ(−h) per entry and the displacements taken."""

    def __init__(self, line: Line, center: np.ndarray, noise: np.ndarray, richardson: bool):
        self.line, self.center, self.noise, self.richardson = line, center, noise, richardson
        self.units: list[float] = []
        self.plus: np.ndarray = np.zeros((0, center.size))
        self.minus: np.ndarray = np.zeros((0, center.size))
        self.up: np.ndarray = np.zeros((0, center.size))     # displacement of φ(+h)
        self.down: np.ndarray = np.zeros((0, center.size))   # |displacement| of φ(−h)
        self.slack: np.ndarray = np.zeros((0, center.size))  # both displacements' slack
        self.ceiling = np.full(center.size, np.inf)   # the largest unit each entry may use
        self.probed = False   # the largest level only bounds the truncation of the next

    @property
    def lowest(self) -> int:
        return 1 if self.richardson else 0

    def extend(self, unit: float, count: int) -> None:
        self._add([unit / STEP_RATIO**k for k in range(count)], at_end=True)

    def prepend(self) -> None:
        self._add([self.units[0] * STEP_RATIO], at_end=False)

    def _add(self, units: list[float], at_end: bool) -> None:
        offsets = np.array(units + [-u for u in units])
        values = self.line(offsets)
        taken = np.abs(np.asarray(self.line.taken(offsets), dtype=float).reshape(
            len(offsets), -1) * np.ones((1, self.center.size)))
        count = len(units)
        slack = np.zeros(taken.shape) if self.line.slack is None else np.abs(
            np.asarray(self.line.slack(offsets), dtype=float).reshape(len(offsets), -1)
            * np.ones((1, self.center.size)))
        parts = (values[:count], values[count:], taken[:count], taken[count:],
                 slack[:count] + slack[count:])
        held = (self.plus, self.minus, self.up, self.down, self.slack)
        if at_end:
            self.units += units
            joined = [np.concatenate([old, new]) for old, new in zip(held, parts, strict=True)]
        else:
            self.units = units + self.units
            joined = [np.concatenate([new, old]) for old, new in zip(held, parts, strict=True)]
        self.plus, self.minus, self.up, self.down, self.slack = joined

    def probe(self) -> None:
        """Where an entry's best step is the largest, one step larger, never used itself:
        without it that step's truncation is judged only against a smaller step, whose
        four times larger noise can cancel it (in float16 two steps gave the same
        difference to the last digit, and a truncation of 0 was believed)."""
        if self.units and np.any(self.best() == 0):
            self.ceiling = np.minimum(self.ceiling, self.units[0])
            self.prepend()
            self.probed = True

    def values(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            central = (self.plus - self.minus) / (self.up + self.down)
            if not self.richardson:
                return central
            extrapolated = np.full(central.shape, np.nan)
            extrapolated[1:] = central[1:] + (central[1:] - central[:-1]) / 15.0
        return extrapolated

    def _noise_term(self) -> np.ndarray:
        scale = 17.0 / 15.0 if self.richardson else 1.0
        with np.errstate(all="ignore"):
            return scale * NOISE_SIGMAS * self.noise[None, :] * 2 / (self.up + self.down)

    def bounds(self) -> np.ndarray:
        values = self.values()
        levels = len(self.units)
        with np.errstate(all="ignore"):
            larger = np.zeros(values.shape)
            smaller = np.zeros(values.shape)
            larger[1:] = np.abs(values[:-1] - values[1:]) / 6.0   # 15× h²: 2.5× margin
            smaller[:-1] = np.abs(values[:-1] - values[1:])
            larger[self.lowest] = 0.0
            if self.probed:   # a probe outside f's domain leaves the next as it was
                larger[1] = np.where(np.isfinite(values[0]), larger[1], 0.0)
            truncation = np.maximum(larger, smaller)
            if levels <= self.lowest + 1:   # one step alone says nothing of its truncation
                truncation[:] = np.inf
            # rounded steps are not quite symmetric: D(h) carries f''·(h₊ − h₋)/2
            curvature = np.abs(self.plus + self.minus - 2 * self.center) / (self.up * self.down)
            # and where a displacement is uncertain (slack), φ moves by up to f'·slack
            asymmetry = curvature * (np.abs(self.up - self.down) + self.slack) + \
                np.abs(values) * self.slack / (self.up + self.down)
            bound = truncation + self._noise_term() + asymmetry + 4 * EPSILON * np.abs(values)
        # a step across which f did not change at all says nothing where a larger one shows
        # f changing: f is quantised there (1 + x² with x² below an ulp of 1). (Equal values
        # on both sides but another at x are symmetry, not quantisation: D(h) = 0 is right.)
        still = (self.plus == self.minus) & (self.plus == self.center[None, :])
        still &= np.any(~still[1 if self.probed else 0:], axis=0, keepdims=True)
        usable = np.isfinite(values) & np.isfinite(bound) & ~still
        return np.where(usable, bound, np.inf)

    def not_finite(self) -> np.ndarray:
        """Per entry: whether some stencil point was not finite."""
        return ~np.all(np.isfinite(self.plus) & np.isfinite(self.minus), axis=0)

    def truncated(self, best: np.ndarray) -> np.ndarray:
        """Per entry: whether truncation outweighs noise at its best step (a smaller step
        would do better)."""
        columns = np.arange(best.size)
        noise = self._noise_term()[best, columns]
        return self.bounds()[best, columns] > 4 * noise

    def settled(self, best: np.ndarray) -> np.ndarray:
        """Per entry: whether two of the three steps above its best are past the optimum
        (their truncation outweighs their noise), so larger steps can only be worse. (Two
        of three: the step just above the best may sit where truncation and noise cross;
        without this a ladder could grow past a pole at 3e-15, to steps where 2/x's
        differences shrink like 1/h², and pick one for its small bound.)"""
        if len(self.units) < self.lowest + 3:
            return np.zeros(best.shape, dtype=bool)
        values = self.values()
        with np.errstate(all="ignore"):
            change = np.abs(values[:-1] - values[1:])   # level k against k + 1
        noise = self._noise_term()
        columns = np.arange(best.size)
        count = np.zeros(best.size, dtype=int)
        for offset in (1, 2, 3):
            level = best - offset
            reaches = level >= self.lowest
            level = np.clip(level, 0, None)
            count += reaches & (change[level, columns] > 2 * noise[level, columns])
        return (best >= self.lowest + 2) & (count >= 2)

    def best(self) -> np.ndarray:
        bounds = self.bounds()
        bounds[:self.lowest] = np.inf
        bounds[np.array(self.units)[:, None] > self.ceiling[None, :]] = np.inf
        return np.argmin(bounds, axis=0)

    def estimate(self) -> Estimate:
        values, bounds = self.values(), self.bounds()
        best = self.best()
        columns = np.arange(self.center.size)
        value, bound = values[best, columns], bounds[best, columns]
        steps = self.up[best, columns]
        with np.errstate(all="ignore"):
            secant = np.maximum(np.abs(self.plus[best, columns] - self.center),
                                np.abs(self.minus[best, columns] - self.center)) / steps
            # and how much the slope changes over the line's scale (a unit offset)
            down = self.down[best, columns]
            curvature = np.abs(self.plus[best, columns] + self.minus[best, columns]
                               - 2 * self.center) / (steps * down)
            secant = np.fmax(secant, curvature * steps / np.array(self.units)[best])
        note = None
        broken = ~np.isfinite(bound)
        if np.any(broken & self.not_finite()):
            value, bound, secant, steps, note = self._one_sided(value, bound, secant, steps,
                                                                broken & self.not_finite())
        elif np.any(broken):
            note = (f"f does not change across steps up to {np.max(self.up):.1e}, or changes "
                    "too unevenly to bound a difference (is it quantised, or flat here?)")
        unchanged = (self.plus[best, columns] == self.center) & \
            (self.minus[best, columns] == self.center)
        if np.any(unchanged) and note is None:
            note = (f"f takes the same value at x ± {float(np.max(steps[unchanged])):.1e} as at "
                    "x, and its other steps could not be bounded: it is flat, or quantised "
                    "(1 + x² with x² below an ulp of 1), at this point")
        return Estimate(value, bound, steps, self.noise, np.nan_to_num(secant), note, unchanged)

    def _one_sided(self, value: np.ndarray, bound: np.ndarray, secant: np.ndarray,
                   steps: np.ndarray, broken: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
        """First-order differences from whichever side is finite, where no central one is."""
        columns = np.arange(self.center.size)
        edge = None
        for sign, stencil, moved in ((1.0, self.plus, self.up), (-1.0, self.minus, self.down)):
            with np.errstate(all="ignore"):
                values = sign * (stencil - self.center) / moved
                truncation = np.full(values.shape, np.inf)
                truncation[1:] = np.abs(values[:-1] - values[1:])
                # trusted only where the differences are seen to converge (each change
                # smaller than the one before): near a singularity closer than every step
                # they do not, and no one-sided difference can tell the slope
                converging = np.zeros(values.shape, dtype=bool)
                converging[2:] = truncation[2:] < truncation[1:-1]
                truncation = np.where(converging, truncation, np.inf)
                bounds = truncation + 2 * NOISE_SIGMAS * self.noise[None, :] / moved
            bounds = np.where(np.isfinite(bounds) & np.isfinite(values), bounds, np.inf)
            pick = np.argmin(bounds, axis=0)
            candidate = bounds[pick, columns]
            use = broken & np.isfinite(candidate) & (candidate < bound)
            value = np.where(use, values[pick, columns], value)
            secant = np.where(use, np.abs(values[pick, columns]), secant)
            steps = np.where(use, moved[pick, columns], steps)
            bound = np.where(use, candidate, bound)
            bad = np.argwhere(~np.isfinite(stencil) & broken[None, :])
            if edge is None and bad.size:
                level, entry = (int(i) for i in bad[0])
                edge = self.line.describe(entry, sign * float(moved[level, entry]))
        where = edge or "the points tried"
        if np.any(~np.isfinite(bound)):
            note = (f"f is not finite at {where} nor at any smaller step: no difference "
                    "can be formed there")
        else:
            note = (f"f is not finite at {where}: the point is at the edge of f's domain; "
                    "one-sided differences were used there")
        return value, bound, secant, steps, note


@dataclass(frozen=True, eq=False)
class Judgement:
    """Per entry: `verdict` 'pass', 'fail' or 'inconclusive', the `tolerance` compared with
    |exact − estimate|, and whether the bound was `tight` enough for a pass."""

    verdicts: np.ndarray
    difference: np.ndarray
    tolerance: np.ndarray
    tight: np.ndarray

    def overall(self) -> str:
        if np.any(self.verdicts == "fail"):
            return "fail"
        return "inconclusive" if np.any(self.verdicts == "inconclusive") else "pass"


def judge(exact: np.ndarray, estimate: Estimate, *, rtol: float, atol: float = 0.0,
          allowance: np.ndarray | float = 0.0, scale: np.ndarray | float = 0.0) -> Judgement:
    """Verdicts of exact derivatives against the estimate (see the module); `allowance` is
    the exact side's own rounding, `scale` a floor for the derivative's magnitude (a zero
    entry is judged against it)."""
    exact = np.asarray(exact, dtype=float).reshape(-1)
    value, bound = estimate.value, estimate.bound
    with np.errstate(all="ignore"):
        size = np.maximum(np.abs(exact), np.abs(value))
        difference = np.abs(exact - value)
        tolerance = bound + rtol * size + atol + allowance
        magnitude = np.maximum(size, np.maximum(scale, ZERO_SCALE * estimate.secant))
        tight = bound <= max(rtol, RESOLUTION) * magnitude
        # both exactly 0 (f symmetric about x at the step, or flat): as good as a check gets
        tight |= (exact == 0) & (value == 0)
    # f flat at every step while the exact derivative is not 0: nothing to compare with
    # (unless it is negligible against the derivative's scale)
    blind = np.zeros(exact.shape, dtype=bool) if estimate.unchanged is None else \
        estimate.unchanged & (np.abs(exact) > scale)
    verdicts = np.where(~np.isfinite(exact), "fail",
                        np.where(~np.isfinite(value) | ~np.isfinite(bound) | blind,
                                 "inconclusive",
                                 np.where(difference > tolerance, "fail",
                                          np.where(tight, "pass", "inconclusive"))))
    return Judgement(verdicts, difference, tolerance, tight)
