"""The same numbers on every machine: the models' key numbers (CDNOW under the three
purchase models, the steady shop and its channels at their limits, a synthetic shop) computed
in subprocesses with NumPy's vector units off and with polars on one thread, compared with a
plain run: scores and log-likelihoods to 1e-9 relative, identified parameters to 1e-6."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
VECTOR_UNITS_OFF = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
ENVIRONMENTS = {
    "vector units off": {"NPY_DISABLE_CPU_FEATURES": VECTOR_UNITS_OFF},
    "polars on one thread": {"POLARS_MAX_THREADS": "1"},
}


def _run(extra: dict[str, str]) -> dict:
    """machine_numbers.py in a fresh interpreter with ``extra`` in its environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NPY_DISABLE_CPU_FEATURES", "POLARS_MAX_THREADS")
    }
    path = os.pathsep.join([str(HERE.parent), str(HERE), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(HERE / "machine_numbers.py")],
        env=env | extra | {"PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def plain():
    return _run({})


def _relative(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert x.shape == y.shape
    return float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-300), initial=0.0))


@pytest.mark.slow
@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_key_numbers_do_not_depend_on_the_machine(plain, name):
    other = _run(ENVIRONMENTS[name])
    if name == "vector units off":  # the variable took effect (numpy.show_runtime's view)
        assert other["machine"]["vector_groups"] == []
    else:
        assert other["machine"]["polars_threads"] == 1
    assert plain["numbers"].keys() == other["numbers"].keys()
    for case, numbers in plain["numbers"].items():
        again = other["numbers"][case]
        for key in ("log_likelihood", "p_alive", "expected_purchases", "clv"):
            assert _relative(numbers[key], again[key]) <= 1e-9, (case, key)
        identified = [
            i
            for i, (v, se) in enumerate(
                zip(numbers["params"], numbers["standard_errors"], strict=True)
            )
            if se is not None and se < v
        ]
        picked = (
            [numbers["params"][i] for i in identified],
            [again["params"][i] for i in identified],
        )
        assert _relative(*picked) <= 1e-6, case


def test_the_same_input_gives_byte_identical_outputs_twice(tmp_path):
    """scores.parquet (with both intervals), model.json and kpis.json of one file, twice."""
    import warnings

    from clv.cli import main
    from clv.data.datasets import synthetic_shop

    data = tmp_path / "shop.csv"
    synthetic_shop(5_000, seed=5)[0].write_csv(data)
    options = ["--channel-col", "channel", "--order-col", "order_id", "--by", "channel"]
    commands = {
        "scores.parquet": ["score", "--interval", "0.9", "--prediction-interval", "0.9"],
        "model.json": ["fit"],
        "kpis.json": ["kpis"],
    }
    written = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for run in (1, 2):
            for name, (command, *extra) in commands.items():
                out = tmp_path / f"{run}-{name}"
                assert main([command, str(data), *options, *extra, "--out", str(out)]) == 0
                written[run, name] = out.read_bytes()
    for name in commands:
        assert written[1, name] == written[2, name], name
