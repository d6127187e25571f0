"""Every default and every limit gdcheck applies, stated once.

Defaults are what a spec, a Python call or a command line gets when it says
nothing; limits bound what a spec may ask for (each is a clear error past it,
never a hang). The spec reference documents each of them. Constants that tune
an algorithm (a rounding allowance, a margin) stay beside that algorithm.
"""

from __future__ import annotations

# -- the spec format
FORMAT_VERSION = 1
REDUCTION = "mean"
INIT = "normal(0, 1)"
NORMAL_RANGE_STDS = 4.0          # Hypothesis draws a normal(m, s) init from m ± 4s

# -- optimizer settings a spec may leave out
LEARNING_RATE = 0.01
STEPS = 1000
TOLERANCE = 0.0                  # 0: run every step
MOMENTUM = 0.9
BETA1 = 0.9
BETA2 = 0.999
EPSILON = 1e-8
SCHEDULES = ("constant", "inverse_sqrt", "inverse", "step", "cosine")
STEP_FACTOR = 0.5                # learning_rate.factor of the `step` schedule

# -- checks
EXAMPLES = 50                    # Hypothesis examples per property check
RTOL = 1e-6                      # |g − g_fd| ≤ the difference's bound + rtol·|g| + atol
ATOL = 0.0                       # no absolute floor: the measured bound decides
RUNS = 8                         # convergence: descents from sampled initialisations
GRAD_TOL = 1e-6                  # convergence: the gradient norm a run must reach
EXPECT_TOL = 1e-6                # convergence: distance to `expect.minimum` / `expect.value`
LOSS_TOL = 1e-6                  # convergence by `objective`: a relative decrease that "stopped"
SEED = 0

# -- limits of the spec format
MAX_SPEC_BYTES = 1 << 20         # a spec file
MAX_YAML_NESTING = 64            # flow brackets, checked before PyYAML
MAX_EXPRESSION_LENGTH = 10_000   # characters per expression
MAX_EXPRESSION_DEPTH = 100
MAX_EXPONENT = 64                # numeric exponents, in magnitude
MAX_SCALARS = 100_000_000        # entries of one shape, and of any intermediate value
MAX_PARAMETERS = 10_000_000      # scalar parameters in all (θ alone is then 80 MB)
MAX_SHAPE_RANK = 6               # dimensions of a shape (parameters, inputs, target, constants)
MAX_SPEC_NAME = 100              # characters
MAX_SAMPLES = 10_000_000         # data.generate.n
MAX_STEPS = 100_000_000          # optimizer.steps
MAX_EXAMPLES = 100_000           # examples of one check (and --examples)
MAX_SECONDS = 10**7              # --timeout (about 116 days; beyond, RLIMIT_CPU overflows)
MAX_MEMORY = 1 << 50             # --memory (1 PiB; beyond, RLIMIT_AS overflows)
MAX_RUNS = 10_000                # convergence runs

MAX_SCALAR_DISPLAY = 1_000       # `derive --scalar` writes out at most this many parameters

# -- data
PROBABILITY_TOL = 1e-6           # how far a categorical row may sum from 1 (softmax rounding)

# -- a run of many specs (`gdcheck verify`)
REPORT_DIR = "reports"
TIMEOUT = 600.0                  # seconds of wall-clock (and CPU) time per spec
MEMORY = 4 * 1024**3             # bytes of address space per spec
MAX_JOBS = 4                     # default --jobs: the cores, at most this many
