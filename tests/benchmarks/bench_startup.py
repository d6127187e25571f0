"""Start-up costs: `import gdcheck`, `from gdcheck import check_gradient`, `import gdcheck.spec`,
and what the pytest plugin adds to every pytest start (`pytest --co -q` in an empty folder,
with and without `-p no:gdcheck`).

Each command runs in a fresh interpreter, the contenders alternating, ROUNDS times; the
table gives medians of the child's CPU time (user + system) and of wall time. Run it on an
idle machine: `python tests/benchmarks/bench_startup.py [--rounds 15] [--against DIR]`,
where DIR is another checkout of gdcheck to compare with (put first on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "python (nothing imported)": [sys.executable, "-c", "pass"],
    "import gdcheck": [sys.executable, "-c", "import gdcheck"],
    "from gdcheck import check_gradient": [sys.executable, "-c",
                                           "from gdcheck import check_gradient"],
    "import gdcheck.spec": [sys.executable, "-c", "import gdcheck.spec"],
    "pytest --co -q (plugin on)": [sys.executable, "-m", "pytest", "--co", "-q",
                                   "-p", "no:cacheprovider"],
    "pytest --co -q -p no:gdcheck": [sys.executable, "-m", "pytest", "--co", "-q",
                                     "-p", "no:cacheprovider", "-p", "no:gdcheck"],
}


def measure(command: list[str], folder: str, environment: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of `command` in `folder`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, env=environment, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--against", help="another gdcheck checkout to compare with")
    arguments = parser.parse_args()
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    contenders = {"this checkout": environment}
    if arguments.against:
        contenders[arguments.against] = {**environment, "PYTHONPATH": arguments.against}
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:   # empty: pytest collects nothing
        for _ in range(arguments.rounds):
            for name, command in COMMANDS.items():
                for contender, env in contenders.items():
                    samples.setdefault((name, contender), []).append(
                        measure(command, folder, env))
    print(f"medians of {arguments.rounds} runs, fresh interpreter each (CPU s / wall s)\n")
    print(f"| command | {' | '.join(contenders)} |")
    print(f"|---|{'---|' * len(contenders)}")
    for name in COMMANDS:
        cells = []
        for contender in contenders:
            runs = samples[(name, contender)]
            cpu = statistics.median(run[0] for run in runs)
            wall = statistics.median(run[1] for run in runs)
            cells.append(f"{cpu:.2f} / {wall:.2f}")
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
