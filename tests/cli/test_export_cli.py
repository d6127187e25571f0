"""`gdcheck export` and `gdcheck schema`, in-process: stdout, -o, and the refusals."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from gdcheck.cli import main

SPECS = Path(__file__).resolve().parents[2] / "specs"
LOGISTIC = SPECS / "logistic.yaml"


def test_export_prints_a_module_that_imports(tmp_path, capsys):
    assert main(["export", str(LOGISTIC)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith('"""logistic-regression: the loss and its exact gradient')
    file = tmp_path / "logistic.py"
    file.write_text(captured.out)
    spec = importlib.util.spec_from_file_location("exported_logistic", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # at w = 0, b = 0 every p is 1/2: the loss is log 2 whatever the data
    data = {"x": [[1.0, 2.0], [0.5, -1.0]], "y": [1.0, 0.0]}
    assert module.loss({"w": [0.0, 0.0], "b": 0.0}, data) == pytest.approx(0.6931471805599453,
                                                                            rel=1e-15)


def test_export_to_torch_writes_the_file_output_names(tmp_path, capsys):
    output = tmp_path / "logistic_torch.py"
    assert main(["export", str(LOGISTIC), "--to", "torch", "-o", str(output)]) == 0
    assert capsys.readouterr().out == f"wrote the torch module of {LOGISTIC} to {output}\n"
    source = output.read_text()
    assert "class ExactLoss(torch.autograd.Function):" in source
    assert "import numpy" not in source
    compile(source, str(output), "exec")


def test_export_refuses_to_write_over_a_spec(tmp_path, capsys):
    spec = tmp_path / "logistic.yaml"
    spec.write_text(LOGISTIC.read_text())
    assert main(["export", str(spec), "--output", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err == (f"Error: -o {spec}: that would write over a spec; name a Python file instead"
                   " (e.g. -o logistic.py)\n")
    assert spec.read_text() == LOGISTIC.read_text()


def test_export_refuses_an_output_it_cannot_write(tmp_path, capsys):
    assert main(["export", str(LOGISTIC), "-o", str(tmp_path)]) == 2   # a folder
    assert capsys.readouterr().err == (f"Error: -o {tmp_path}: cannot write there: it is a "
                                       "folder, not a file\n")


def test_export_of_a_bad_spec_exits_2_naming_the_field(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(LOGISTIC.read_text().replace("model: sigmoid(dot(w, x) + b)",
                                                "model: sigmoid(dot(w, x) + bias)"))
    output = tmp_path / "bad.py"
    assert main(["export", str(bad), "-o", str(output)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"Error: {bad}:")
    assert ": model: " in captured.err and "bias" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not output.exists()


def test_export_to_an_unknown_target_exits_2(capsys):
    assert main(["export", str(LOGISTIC), "--to", "jax"]) == 2
    assert capsys.readouterr().err == (
        "Error: argument --to: invalid choice: 'jax' (choose from 'numpy', 'torch') "
        "(see 'gdcheck export --help')\n")


def test_schema_prints_the_json_schema(tmp_path, capsys):
    assert main(["schema"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "$schema" in document
    output = tmp_path / "gdcheck.schema.json"
    assert main(["schema", "-o", str(output)]) == 0
    assert capsys.readouterr().out == f"wrote the spec JSON Schema to {output}\n"
    assert json.loads(output.read_text()) == document
