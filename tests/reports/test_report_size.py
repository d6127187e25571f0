"""Report files are sized by the graph, not by the number of parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import gdcheck
from gdcheck.checks.context import Context
from gdcheck.reports import write_report
from gdcheck.verify import run_checks

NETWORK = """\
gdcheck: 1
name: mlp-{d}-{h}-{k}
parameters:
  W1: {{shape: [{h}, {d}], init: 'normal(0, 0.03)'}}
  b1: {{shape: [{h}], init: zeros}}
  W2: {{shape: [{k}, {h}], init: 'normal(0, 0.06)'}}
  b2: {{shape: [{k}], init: zeros}}
inputs: {{x: {{shape: [{d}]}}}}
target: {{y: {{shape: [{k}]}}}}
model: softmax(W2 @ tanh(W1 @ x + b1) + b2)
loss: -sum(y * log(y_pred))
penalty: 1.0e-4 * (sum(W1**2) + sum(W2**2))
data: {{npz: data.npz}}
optimizer: {{method: gd, learning_rate: 0.1, steps: 10}}
checks: {{gradient: false, descent: false, convergence: false}}
"""


def network_report(folder: Path, d: int, h: int, k: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.savez(folder / "data.npz", x=rng.normal(size=(10, d)),
             y=np.eye(k)[rng.integers(0, k, 10)])
    path = folder / "spec.yaml"
    path.write_text(NETWORK.format(d=d, h=h, k=k))
    spec = gdcheck.load(path)
    verification = run_checks(Context(spec, gdcheck.compile(spec)))
    return write_report(verification, folder / "reports")


def test_report_md_of_a_784_256_10_network_is_small_and_the_same_as_a_tiny_ones(tmp_path):
    big = network_report(tmp_path / "big", 784, 256, 10) / "report.md"
    tiny = network_report(tmp_path / "tiny", 3, 4, 2) / "report.md"
    assert big.stat().st_size < 100_000
    # the formulas do not grow with the shapes: only the name and shapes differ
    assert abs(big.stat().st_size - tiny.stat().st_size) < 200
    text = big.read_text()
    assert "dL/dW1 = " in text and "W1[0,0]" not in text
