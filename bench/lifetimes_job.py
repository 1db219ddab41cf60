"""The jobs of ``clv summarize``, ``clv fit`` and ``clv score``, written as a lifetimes script.

The benchmark's whole-process steps (``bench/processes.py``) time this script as a fresh
process against the ``clv`` command on the same file::

    clv score DATA.parquet --observation-end 2024-12-31 --horizon 12 --horizon-unit M \\
        --out scores.parquet
    python bench/lifetimes_job.py DATA.parquet --job score --observation-end 2024-12-31 \\
        --out scores.parquet --params-out params.json

``--job summarize`` stops after the summary (written to ``--out``), ``--job fit`` after the
two fits (parameters to ``--params-out``), ``--job score`` (the default) writes the summary
with P(alive) and the CLV.

Summary in weeks (days / 7, as clv's default time unit), BG/NBD on every customer,
Gamma-Gamma on repeat buyers with positive spend, then P(alive) and a 12-month CLV
discounted at the monthly equivalent of a 10 % annual rate. lifetimes' month for a summary
in weeks is 4.345 weeks (30.415 days), clv's is 365.25 / 12 = 30.4375 days, so the CLV
columns differ by up to 0.07 %; the parameters and P(alive) are the same.
"""

import argparse
import json

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file", help="transactions .parquet: customer_id, date, amount")
    p.add_argument("--observation-end", help="last day observed (default: last transaction)")
    p.add_argument("--months", type=int, default=12, help="CLV horizon in months")
    p.add_argument("--discount-rate", type=float, default=0.10, help="annual discount rate")
    p.add_argument("--job", choices=["summarize", "fit", "score"], default="score")
    p.add_argument("--out", required=True, help="summary or scores .parquet")
    p.add_argument("--params-out", help="fitted parameters .json")
    args = p.parse_args()

    transactions = pd.read_parquet(args.file, columns=["customer_id", "date", "amount"])
    summary = summary_data_from_transaction_data(
        transactions,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=args.observation_end,
        freq="D",
        freq_multiplier=7,  # weeks
    )
    if args.job == "summarize":
        summary.reset_index().to_parquet(args.out, index=False)
        return
    f, r, T, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))
    bgf = BetaGeoFitter().fit(f, r, T)
    repeat = summary[(f > 0) & (m > 0)]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    if args.params_out:
        params = {k: float(v) for k, v in (*bgf.params_.items(), *ggf.params_.items())}
        with open(args.params_out, "w") as fh:
            json.dump(params, fh)
    if args.job == "fit":
        return

    summary["p_alive"] = bgf.conditional_probability_alive(f, r, T)
    summary["clv"] = ggf.customer_lifetime_value(
        bgf,
        f,
        r,
        T,
        m,
        time=args.months,
        discount_rate=(1 + args.discount_rate) ** (1 / 12) - 1,  # monthly
        freq="W",
    )
    summary.reset_index().to_parquet(args.out, index=False)


if __name__ == "__main__":
    main()
