"""The model tests' key numbers, printed as JSON: run by test_machine.py in subprocesses
with the CPU's vector units off or polars on one thread, and compared."""

import datetime as dt
import json
import sys
import warnings

import numpy as np
import polars as pl


def _steady_shop() -> pl.DataFrame:
    """conftest's steady shop (600 customers buying every 20-60 days for 500 days)."""
    rng = np.random.default_rng(1)
    start = dt.date(2024, 1, 1)
    rows = []
    for i in range(600):
        first, gap = int(rng.integers(0, 100)), int(rng.integers(20, 60))
        rows += [
            (f"c{i}", start + dt.timedelta(days=d), float(rng.uniform(10, 50)))
            for d in range(first, 500, gap)
        ]
    return pl.DataFrame(rows, schema=["customer_id", "date", "amount"], orient="row")


def key_numbers() -> dict[str, dict[str, list[float]]]:
    """Per case: the fitted parameters, their standard errors, the log-likelihoods and the
    scores of every customer."""
    from clv.data.datasets import CDNOW_CALIBRATION_END, cdnow, synthetic_shop
    from clv.data.rfm import rfm_summary
    from clv.models.fitting import fit

    cdnow_summary = rfm_summary(cdnow(), observation_end=CDNOW_CALIBRATION_END, time_unit="W")
    steady = rfm_summary(_steady_shop(), observation_end="2025-05-14", time_unit="W")
    channels = steady.with_columns(
        channel=pl.col("customer_id").str.slice(1).cast(pl.Int64).mod(2).cast(pl.String)
    )
    shop = rfm_summary(synthetic_shop(4_000, seed=11)[0], time_unit="W")
    cases = {
        f"cdnow {m}": (cdnow_summary, {"purchase_model": m})
        for m in ("bgnbd", "mbgnbd", "pareto_nbd")
    }
    cases |= {"steady": (steady, {}), "shop": (shop, {})}
    out: dict[str, dict[str, list[float]]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (summary, options) in cases.items():
            models = {"": fit(summary, **options)}
            if name == "steady":
                grouped = fit(channels, by="channel")
                models |= {f" channel {k}": m for k, m in grouped.groups.items()}
            for suffix, model in models.items():
                key = name + suffix
                scores = model.score(summary, horizon=12)
                out[key] = {
                    "params": [*model.purchase.values(), *model.gamma_gamma.values()],
                    "standard_errors": [
                        *model.standard_errors[model.purchase_model].values(),
                        *model.standard_errors["gamma_gamma"].values(),
                    ],
                    "log_likelihood": list(model.log_likelihood.values()),
                    **{c: scores[c].to_list() for c in ("p_alive", "expected_purchases", "clv")},
                }
    return out


VECTOR_GROUPS = ("X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR")
"""NumPy's dispatch groups of the AVX2 and AVX-512 vector units."""


def machine() -> dict[str, list[str] | int]:
    """The vector groups NumPy dispatches to here, and polars' threads."""
    from numpy._core._multiarray_umath import __cpu_features__

    return {
        "vector_groups": [g for g in VECTOR_GROUPS if __cpu_features__.get(g)],
        "polars_threads": pl.thread_pool_size(),
    }


if __name__ == "__main__":
    json.dump({"machine": machine(), "numbers": key_numbers()}, sys.stdout)
