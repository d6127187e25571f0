"""Invalid and hostile specs: each is refused with exit status 2 and a located message.

One table (STYLE.md item 12). Every case is a valid base spec with one small
change (or, for YAML-level tricks, raw text), the field the error must name and
fragments of its message ("a|b": either will do). `gdcheck derive` runs
in-process on each and must: exit with 2; write `Error: <file>:<line>: <field>:
...` to stderr, never a traceback; finish quickly (a guard against hangs, not a
speed test); and run no code from the spec. Payloads try to create the file CANARY (replaced by an
absolute path in tmp_path) and call `os.system`; both are watched.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import guards
import numpy as np
import pytest
import yaml
from guards import Hang

from gdcheck.cli import main

TIME_LIMIT = 5.0      # seconds per case: a hang guard, not a speed test
ALARM_AFTER = 6.0     # interrupts a hang that the time check alone would wait out

PAYLOAD = "__import__('os').system('touch CANARY')"
OPEN_PAYLOAD = "open('CANARY', 'w')"

SUPERVISED: dict[str, Any] = {
    "gdcheck": 1,
    "name": "hostile",
    "constants": {"lam": 0.01},
    "parameters": {"w": {"shape": [2], "init": "normal(0, 0.5)"},
                   "b": {"init": "uniform(-1, 1)"}},
    "inputs": {"x": {"shape": [2]}},
    "target": {"y": {}},
    "model": "sigmoid(dot(w, x) + b)",
    "loss": "-(y*log(y_pred) + (1 - y)*log(1 - y_pred))",
    "penalty": "lam * sum(w**2)",
    "data": {"inline": {"x": [[0.5, 1.0], [1.0, -1.0], [0.0, 2.0]], "y": [1, 0, 1]}},
    "optimizer": {"method": "gd", "learning_rate": 0.5, "steps": 100},
}

OBJECTIVE: dict[str, Any] = {
    "gdcheck": 1,
    "name": "hostile-objective",
    "parameters": {"a": {"init": "uniform(-1.2, 1.2)"}, "v": {"shape": [2]},
                   "u": {"shape": [3]}, "M": {"shape": [2, 3]}},
    "objective": "(1 - a)**2 + sum(v**2)",
    "optimizer": {"method": "gd", "learning_rate": 0.001, "steps": 100},
}

DELETE = object()


def dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=float("inf"),
                          default_flow_style=None)


def changed(base: dict[str, Any], changes: dict[str | tuple[str, ...], Any]) -> str:
    """The base spec as YAML with each change applied.

    A key is a dotted path or, for keys with dots in them, a tuple; DELETE removes it.
    """
    document = copy.deepcopy(base)
    for key, value in changes.items():
        path = key if isinstance(key, tuple) else tuple(key.split("."))
        parent = document
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
        if value is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return dump(document)


def supervised(**changes: Any) -> str:
    """The supervised base with top-level or `a__b` (for `a.b`) fields changed."""
    return changed(SUPERVISED, {key.replace("__", "."): value for key, value in changes.items()})


def objective(text: str) -> str:
    return changed(OBJECTIVE, {"objective": text})


def raw(text: str) -> str:
    return text


SUPERVISED_TEXT = dump(SUPERVISED)
OBJECTIVE_TEXT = dump(OBJECTIVE)


def npz_with_pickle(canary: Path) -> bytes:
    """An npz whose object array unpickles to `os.system('touch CANARY')`."""

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return os.system, (f"touch {canary}",)

    target = canary.with_name("data.npz")
    array = np.empty(3, dtype=object)
    array[:] = [Payload(), Payload(), Payload()]
    np.savez(target, x=array, y=np.zeros(3))
    data = target.read_bytes()
    target.unlink()
    assert b"system" in data  # the pickle really is inside
    return data


def case(id: str, text: str, field: str, *fragments: str,
         files: dict[str, str | Callable[[Path], bytes]] | None = None) -> Any:
    return pytest.param(text, field, fragments, files or {}, id=id)


CASES = [
    # --- code injection through every expression field, names, distributions and data
    case("inject-model", supervised(model=PAYLOAD), "model", "__import__|not allowed"),
    case("inject-loss", supervised(loss=f"y_pred + {OPEN_PAYLOAD}"), "loss", "open|not allowed"),
    case("inject-penalty", supervised(penalty=PAYLOAD), "penalty", "__import__|not allowed"),
    case("inject-objective", objective(PAYLOAD), "objective", "__import__|not allowed"),
    case("inject-objective-exec", objective("exec(\"open('CANARY', 'w')\") + a"), "objective",
         "exec|not allowed"),
    case("inject-eval-call", objective("eval(a) + a"), "objective", "unknown function", "eval"),
    case("inject-builtins-name", objective("a + __builtins__"), "objective", "__builtins__"),
    case("inject-parameter-name", changed(OBJECTIVE, {("parameters", PAYLOAD): {}}),
         "parameters", "ASCII identifier"),
    case("inject-input-name", changed(SUPERVISED, {("inputs", f"x; {PAYLOAD}"): {}}),
         "inputs", "ASCII identifier"),
    case("inject-constant-name", changed(SUPERVISED, {("constants", OPEN_PAYLOAD): 1.0}),
         "constants", "ASCII identifier"),
    case("inject-constant-value", supervised(constants={"lam": PAYLOAD}), "constants.lam",
         "expected a number"),
    case("inject-init", supervised(parameters__w__init=PAYLOAD), "parameters.w.init",
         "normal(mean, std)"),
    case("inject-init-args", supervised(parameters__b__init=f"normal({PAYLOAD}, 1)"),
         "parameters.b.init", "finite numbers"),
    case("inject-generate-inputs",
         supervised(data={"generate": {"n": 10, "seed": 1, "inputs": {"x": PAYLOAD}}}),
         "data.generate.inputs.x", "normal(mean, std)"),
    case("inject-inline-data",
         supervised(data__inline__x=[[PAYLOAD, 1.0], [1.0, -1.0], [0.0, 2.0]]),
         "data.inline.x", "__import__"),
    case("inject-csv-cell",
         supervised(data={"csv": "data.csv", "columns": {"x": ["x1", "x2"], "y": "y"}}),
         "data", "__import__",
         files={"data.csv": f'x1,x2,y\n0.5,1.0,1\n"{PAYLOAD}",2.0,0\n'}),
    case("inject-npz-pickle", supervised(data={"npz": "data.npz"}), "data.npz", "object",
         files={"data.npz": npz_with_pickle}),
    case("inject-fstring", objective("a + f'{__import__(\"os\").system(\"touch CANARY\")}'"),
         "objective", "__import__|not allowed"),
    # --- syntax outside the grammar
    case("dunder-attribute", objective("a.__class__"), "objective", "__class__"),
    case("dunder-chain", objective("().__class__.__bases__[0].__subclasses__()"), "objective",
         "__class__|not allowed"),
    case("lambda", objective("(lambda: a)() + a"), "objective", "lambda"),
    case("list-comprehension", objective("sum([t for t in v])"), "objective",
         "t for t in v|unknown name 't'"),
    case("generator", objective("sum(t for t in v)"), "objective",
         "t for t in v|unknown name 't'"),
    case("dict-comprehension", objective("a + sum({k: k for k in v})"), "objective",
         "k for k in v|unknown name 'k'"),
    case("string", objective("a + 'abc'"), "objective", "abc"),
    case("complex-literal", objective("a + 1j"), "objective", "1j"),
    case("boolean-literal", objective("a + True"), "objective", "True"),
    case("keyword-argument", objective("sum(v, axis=a)"), "objective", "must be a literal"),
    case("starred-argument", objective("maximum(*v)"), "objective", "*v"),
    case("walrus", objective("(z := a) + z"), "objective", ":="),
    case("comparison", objective("a + (a < 1 < a)"), "objective", "chained comparison"),
    case("boolean-op", objective("a + (a and 1)"), "objective", "a and 1"),
    case("conditional", objective("a + (1 if a else 2)"), "objective", "1 if a else 2"),
    case("slice", objective("sum(v[0:a])"), "objective", "v[0:a]"),
    case("statement", objective("import os"), "objective", "import os|not a valid expression"),
    case("null-byte", objective("a + \x00"), "objective", "not allowed"),
    case("ragged-literal", objective("a + sum([[1, 2], [3]])"), "objective", "[[1, 2], [3]]"),
    # --- limits: exponents, overflow, complex constants, nesting, length
    case("tower-exponent", objective("a**(10**10**10)"), "objective", "exponent"),
    case("chained-powers", objective("a + 2**2**2**2**2**2"), "objective", "exponent"),
    case("exponent-65", objective("a**65"), "objective", "exponent", "64"),
    case("exponent-minus-65", objective("a**-65"), "objective", "exponent", "64"),
    case("exp-overflow", objective("a + exp(1000)"), "objective", "overflow"),
    case("literal-1e400", objective("a + 1e400"), "objective", "1e400"),
    case("huge-integer-literal", objective("a + 1" + "0" * 5000), "objective", "digits"),
    case("log-of-negative", objective("a + log(-1)"), "objective", "log(-1)"),
    case("sqrt-of-negative", objective("a + sqrt(-1)"), "objective", "sqrt(-1)"),
    case("nested-parentheses", objective("(" * 300 + "a" + ")" * 300), "objective", "nest"),
    case("nested-calls", objective("exp(" * 150 + "a" + ")" * 150), "objective", "nest"),
    case("nested-unary-minus", objective("-" * 5000 + "a"), "objective", "nest"),
    case("expression-10000-terms", objective(" + ".join(["a"] * 10_000)), "objective",
         "characters"),
    # --- names and functions
    case("unknown-function", objective("foo(a)"), "objective", "unknown function", "foo",
         "softplus", "logsumexp"),
    case("call-a-parameter", objective("a(1)"), "objective", "unknown function"),
    case("unknown-name", objective("a + zz"), "objective", "zz"),
    case("non-ascii-in-expression", objective("a + ω"), "objective", "ω"),
    case("fullwidth-letter", objective("ａ**2"), "objective", "ａ"),
    case("non-ascii-parameter", changed(OBJECTIVE, {("parameters", "ω"): {}}), "parameters.ω",
         "ASCII"),
    case("keyword-parameter", changed(OBJECTIVE, {("parameters", "lambda"): {}}),
         "parameters.lambda", "keyword"),
    case("reserved-parameter", changed(OBJECTIVE, {("parameters", "exp"): {}}),
         "parameters.exp", "reserved"),
    case("y-pred-target", supervised(target={"y_pred": {}}), "target.y_pred", "reserved"),
    case("declared-twice", supervised(constants={"w": 1.0}), "parameters.w", "declared twice"),
    case("y-pred-in-model", supervised(model="sigmoid(dot(w, x) + b) + y_pred"), "model",
         "y_pred"),
    case("y-pred-in-penalty", supervised(penalty="lam * sum(w**2) * y_pred"), "penalty",
         "y_pred"),
    case("loss-without-y-pred", supervised(loss="(y - 1)**2"), "loss", "y_pred"),
    case("input-in-penalty", supervised(penalty="sum(x**2)"), "penalty", "x"),
    case("arity-exp", objective("exp(a, a)"), "objective", "exp", "argument"),
    case("arity-maximum", objective("sum(maximum(v))"), "objective", "maximum", "argument"),
    # --- shapes
    case("shape-mismatch", objective("sum(v + u)"), "objective", "[2]", "[3]"),
    case("matmul-mismatch", objective("sum(M @ M)"), "objective", "[2, 3]"),
    case("index-out-of-range", objective("a + v[2]"), "objective", "v[2]"),
    case("too-many-indices", objective("a + v[0, 1]"), "objective", "v[0, 1]"),
    case("non-scalar-objective", objective("v**2"), "objective", "scalar", "[2]"),
    case("non-scalar-loss", supervised(loss="(y - y_pred) * w"), "loss", "scalar", "[2]"),
    case("non-scalar-penalty", supervised(penalty="lam * w**2"), "penalty", "scalar", "[2]"),
    case("model-shape-not-target", supervised(model="w * sigmoid(dot(w, x) + b)"), "model",
         "[2]", "[]"),
    # --- YAML
    case("duplicate-key", raw(SUPERVISED_TEXT + "name: other\n"), "name", "duplicate"),
    case("duplicate-nested-key", raw(OBJECTIVE_TEXT.replace(
        "optimizer: {", "optimizer: {steps: 5, ")), "optimizer.steps", "duplicate"),
    case("anchor-alias", raw(OBJECTIVE_TEXT.replace("objective:", "objective: &o")
                             + "description: *o\n"), "yaml", "anchor"),
    case("billion-laughs", raw(OBJECTIVE_TEXT + "description:\n" + "".join(
        f"  k{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9 if i else ['lol'] * 9)}]\n"
        for i in range(10))), "yaml", "anchor"),
    case("merge-key", raw(OBJECTIVE_TEXT.replace(
        "optimizer:", "base: &b {method: gd}\noptimizer: {<<: *b}\nx_optimizer:")), "yaml",
        "anchor"),
    case("python-apply-tag", raw(OBJECTIVE_TEXT.replace(
        "name: hostile-objective", "name: !!python/object/apply:os.system ['touch CANARY']")),
        "yaml", "tag"),
    case("python-name-tag", raw(OBJECTIVE_TEXT + "description: !!python/name:os.system\n"),
         "yaml", "tag"),
    case("str-tag", raw(OBJECTIVE_TEXT.replace("objective:", "objective: !!str")), "yaml",
         "tag"),
    case("two-documents", raw(OBJECTIVE_TEXT + "---\n" + OBJECTIVE_TEXT), "yaml", "document"),
    case("list-at-top", raw("- gdcheck: 1\n- name: x\n"), "spec", "mapping"),
    case("scalar-at-top", raw(PAYLOAD + "\n"), "spec", "mapping"),
    case("empty-file", raw(""), "spec", "empty"),
    case("comment-only", raw("# nothing here\n"), "spec", "empty"),
    case("deep-yaml-nesting", raw(OBJECTIVE_TEXT + "description: " + "[" * 20_000
                                  + "]" * 20_000 + "\n"), "yaml", "nested"),
    case("over-1-mib", raw(OBJECTIVE_TEXT + "# " + "x" * (1 << 20) + "\n"), "file", "1 MiB"),
    case("invalid-utf8", raw(OBJECTIVE_TEXT + "description: \udcff\n"), "file", "UTF-8"),
    # --- fields
    case("unknown-key-did-you-mean",
         changed(SUPERVISED, {"optimizer.lerning_rate": 0.5,
                              "optimizer.learning_rate": DELETE}),
         "optimizer.lerning_rate", "did you mean 'learning_rate'"),
    case("unknown-top-key", changed(SUPERVISED, {"lose": "y_pred", "loss": DELETE}), "lose",
         "did you mean 'loss'"),
    case("steps-true", supervised(optimizer__steps=True), "optimizer.steps", "true"),
    case("learning-rate-text", supervised(optimizer__learning_rate="fast"),
         "optimizer.learning_rate", "'fast'"),
    case("learning-rate-negative", supervised(optimizer__learning_rate=-1),
         "optimizer.learning_rate", "> 0"),
    case("steps-zero", supervised(optimizer__steps=0), "optimizer.steps", ">= 1"),
    case("steps-fraction", supervised(optimizer__steps=2.5), "optimizer.steps", "integer"),
    case("shape-seven-dims", supervised(parameters__w__shape=[1] * 7), "parameters.w.shape",
         "at most 6 dimensions"),
    case("shape-negative", supervised(parameters__w__shape=[-1]), "parameters.w.shape", ">= 0"),
    case("version-2", supervised(gdcheck=2), "gdcheck", "expected 1"),
    case("method-unknown", supervised(optimizer__method="sgd"), "optimizer.method", "gd"),
    case("reduction-unknown", supervised(reduction="median"), "reduction", "mean"),
    case("missing-loss", supervised(loss=DELETE), "loss", "missing"),
    case("missing-optimizer", supervised(optimizer=DELETE), "optimizer", "missing"),
    case("missing-learning-rate", supervised(optimizer__learning_rate=DELETE),
         "optimizer.learning_rate", "missing"),
    case("objective-and-model", supervised(objective="sum(w**2)"), "model", "never both"),
    case("two-data-sources", supervised(data__csv="data.csv"), "data", "exactly one"),
    case("model-not-text", supervised(model={"eval": PAYLOAD}), "model", "expected an expression"),
    case("too-many-parameters-shape", supervised(parameters__w__shape=[100_000, 1001]),
         "parameters.w.shape", "100,000,000"),
    case("too-many-parameters-total",
         changed(OBJECTIVE, {"parameters": {"W": {"shape": [4000, 2500]}, "a": {}},
                             "objective": "sum(W) + a"}),
         "parameters", "10,000,000"),
    case("too-large-intermediate",
         changed(OBJECTIVE, {"parameters": {"u": {"shape": [20000]}, "v": {"shape": [1, 20000]}},
                             "objective": "sum(u * transpose(v))"}),
         "objective", "400,000,000 entries"),
    # --- data
    case("data-nan", supervised(data__inline__y=[1, float("nan"), 1]), "data.inline.y", "nan"),
    case("data-inf", supervised(data__inline__x=[[0.5, 1.0], [float("inf"), -1.0], [0.0, 2.0]]),
         "data.inline.x", "inf"),
    case("data-empty", supervised(data__inline={"x": [], "y": []}), "data.inline", "row"),
    case("data-ragged", supervised(data__inline__x=[[0.5, 1.0], [1.0], [0.0, 2.0]]),
         "data.inline.x", "[2]"),
    case("data-non-numeric", supervised(data__inline__y=[1, "abc", 0]), "data.inline.y", "abc"),
    case("data-rows-disagree", supervised(data__inline__y=[1, 0]), "data.inline", "3", "2"),
    case("data-missing-target", supervised(data__inline__y=DELETE), "data.inline", "y"),
    case("csv-missing-column",
         supervised(data={"csv": "data.csv", "columns": {"x": ["x1", "x2"], "y": "y"}}),
         "data", "x2", files={"data.csv": "x1,y\n0.5,1\n1.0,0\n"}),
    case("csv-missing-file",
         supervised(data={"csv": "missing.csv", "columns": {"x": ["x1", "x2"], "y": "y"}}),
         "data.csv", "missing.csv"),
    case("csv-outside-folder",
         supervised(data={"csv": "/etc/passwd", "columns": {"x": ["x1", "x2"], "y": "y"}}),
         "data.csv", "inside the project root"),
    case("csv-escapes-folder",
         supervised(data={"csv": "../../etc/passwd", "columns": {"x": ["x1", "x2"], "y": "y"}}),
         "data.csv", "inside the project root"),
]


@pytest.fixture
def alarm():
    with guards.alarm(ALARM_AFTER):
        yield


@pytest.mark.parametrize(("text", "field", "fragments", "files"), CASES)
def test_hostile_spec_is_refused(text: str, field: str, fragments: tuple[str, ...],
                                 files: dict[str, Any], tmp_path: Path, monkeypatch, capsys,
                                 alarm) -> None:
    canary = tmp_path / "CANARY"
    for name, content in files.items():
        content = content(canary) if callable(content) else content.replace("CANARY", str(canary))
        if isinstance(content, str):
            content = content.encode("utf-8")
        (tmp_path / name).write_bytes(content)
    systems: list[Any] = []
    monkeypatch.setattr(os, "system", lambda *args: systems.append(args) or 0)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.yaml"
    path.write_bytes(text.replace("CANARY", str(canary)).encode("utf-8", "surrogateescape"))

    start = time.perf_counter()
    try:
        status: int | None = main(["derive", str(path)])
    except Hang:
        status = None  # failed below, outside this block, so the report shows no signal frame
    elapsed = time.perf_counter() - start
    stderr = capsys.readouterr().err
    if status is None:
        pytest.fail(f"no answer after {ALARM_AFTER} s (hang)")

    assert not canary.exists(), "the spec ran code: CANARY was created"
    assert not systems, f"the spec ran code: os.system{systems[0]}"
    assert status == 2, f"exit status {status}, stderr: {stderr[:500]}"
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr[-2000:]
    assert stderr.startswith("Error: "), stderr[:500]
    assert "spec.yaml" in stderr, stderr[:500]
    assert field in stderr, f"field {field!r} not named in: {stderr[:500]}"
    for fragment in fragments:  # "a|b": either will do
        assert any(option.lower() in stderr.lower() for option in fragment.split("|")), (
            f"{fragment!r} not in: {stderr[:500]}")
    assert elapsed < TIME_LIMIT, f"took {elapsed:.1f} s"
