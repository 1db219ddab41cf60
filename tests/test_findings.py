"""Every first-page sentence holds against the data: findings.json recomputed, shape by shape.

Both report notebooks run once per data shape of :mod:`shapes` (a session fixture). For each
record of the run's ``findings.json`` a function of :data:`RECOMPUTE`, keyed by the record's
message id, recomputes its numbers independently of clv's tables: descriptive findings from
the raw transactions read with pandas, model-based ones from the run's ``scores.parquet``,
``model.json`` and ``kpis.json``. A message id without a recomputation fails the test, so a
new sentence cannot reach the first page unchecked.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def shape_runs(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Each shape's customer value report (and the shop's loyalty review), run once."""
    from clv.report.runner import run_report

    out: dict[str, dict[str, Any]] = {}
    for name in shapes.NAMES:
        folder = tmp_path_factory.mktemp(f"shape-{name}")
        shape = shapes.make(name, folder)
        parameters = {k: v for k, v in shape.parameters.items() if k != "data"}
        runs = {
            "customer_value": run_report(
                shape.data,
                notebook="customer_value",
                parameters=parameters,
                out_dir=folder / "runs",
                progress=False,
            )
        }
        if name == "shop":
            runs["loyalty_review"] = run_report(
                shape.data,
                notebook="loyalty_review",
                parameters=parameters,
                out_dir=folder / "runs",
                progress=False,
            )
        out[name] = {"shape": shape, **runs}
    return out


# --------------------------------------------------------------------------- the raw side


class Run:
    """A run folder and the raw data beside it, read independently of clv's tables."""

    def __init__(self, shape: shapes.Shape, folder: Path) -> None:
        self.shape = shape
        self.folder = folder
        self.parameters = {**_defaults(), **shape.parameters}
        self.raw = shape.raw()
        self.scores = pd.read_parquet(folder / "scores.parquet")
        self.model = json.loads((folder / "model.json").read_text())
        self.kpis = json.loads((folder / "kpis.json").read_text())
        found = json.loads((folder / "findings.json").read_text())["findings"]
        # what changed since the last run is checked against changes.json (test_since)
        self.findings = [f for f in found if not f["id"].startswith("since.")]

    @property
    def orders(self) -> pd.DataFrame:
        """One row per order: an order id, else a customer-day; its date, amount, channel of
        its first row (file order), whether flagged a member; numbered per customer."""
        tx = self.raw.reset_index(drop=True).copy()
        tx["row"] = np.arange(len(tx))
        key = "order_id" if "order_id" in tx.columns else "date"
        agg: dict[str, Any] = {
            "date": ("date", "min"),
            "amount": ("amount", "sum"),
            "row": ("row", "min"),
        }
        if "margin" in tx.columns:
            agg["margin"] = ("margin", "sum")
        if "channel" in tx.columns:
            agg["channel"] = ("channel", "first")
        if "loyalty" in tx.columns:
            agg["loyalty"] = ("loyalty", "any")
        orders = tx.groupby(["customer_id", key], as_index=False).agg(**agg)
        sort = ["customer_id", "date", key] if key != "date" else ["customer_id", "date"]
        orders = orders.sort_values(sort).reset_index(drop=True)
        orders["order_number"] = orders.groupby("customer_id").cumcount() + 1
        return orders

    @property
    def customers(self) -> pd.DataFrame:
        orders = self.orders
        per = orders.groupby("customer_id").agg(
            revenue=("amount", "sum"),
            orders=("amount", "size"),
            first=("date", "min"),
            last=("date", "max"),
        )
        if "margin" in orders.columns:
            per["margin"] = orders.groupby("customer_id").margin.sum()
        if "channel" in orders.columns:
            per["channel"] = orders[orders.order_number == 1].set_index("customer_id").channel
        if "loyalty" in orders.columns:
            per["loyalty"] = orders.groupby("customer_id").loyalty.any()
        return per.sort_index()

    def top_ids(self, share: float) -> pd.Index:
        c = self.customers.reset_index().sort_values(
            ["revenue", "customer_id"], ascending=[False, True]
        )
        return pd.Index(c.customer_id.head(round(share * len(c))))


def _defaults() -> dict[str, Any]:
    from clv import params

    return {name: p.default for name, p in params.SPEC.items()}


def close(got: float | None, want: float | None, rel: float = 1e-9) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=rel, abs_tol=1e-9)


# --------------------------------------------------------------------------- recomputations


def _money(run: Run, n: dict) -> None:
    if "margin" in run.raw.columns:
        want = run.raw.margin.sum() / run.raw.amount.sum()
    else:
        want = run.parameters.get("margin") or 1.0
    assert close(n["margin_rate"], want)


def _top(run: Run, n: dict) -> None:
    c = run.customers
    top = run.top_ids(n["top_share"])
    assert n["of"] == len(c) and n["customers"] == len(top)
    assert close(n["value_share"], c.loc[top].revenue.sum() / c.revenue.sum())
    if n.get("clv_share") is not None:
        sc = run.scores.set_index("customer_id")
        assert close(n["clv_share"], sc.loc[top].clv.sum() / sc.clv.sum())


def _difference(run: Run, n: dict) -> None:
    c = run.customers.join(run.scores.set_index("customer_id")[["p_alive", "clv"]])
    c["tenure_days"] = (c["last"] - c["first"]).dt.days
    c["aov"] = c.revenue / c.orders
    c["days_between_orders"] = (c.tenure_days / (c.orders - 1)).where(c.orders > 1)
    c["orders_per_customer"] = c.orders
    metric = n["metric"]
    if metric.startswith("share_from_"):
        column = c.channel == metric.removeprefix("share_from_")
    elif metric == "share_loyalty_members":
        column = c.loyalty
    elif metric in ("share_reordered_same_product", "distinct_products"):
        tx = run.raw
        key = "order_id" if "order_id" in tx.columns else "date"
        per = tx.groupby(["customer_id", "product"])[key].nunique()
        if metric == "distinct_products":
            column = per.groupby("customer_id").size()
        else:
            column = (per >= 2).groupby("customer_id").any()
        column = column.reindex(c.index)
    else:
        column = c[metric]
    top = c.index.isin(run.top_ids(run.parameters["top_share"]))
    assert close(n["top"], float(column[top].astype(float).mean()))
    assert close(n["rest"], float(column[~top].astype(float).mean()))


def _middle(run: Run, n: dict) -> None:
    sc = run.scores
    middle = sc[sc.value_tier == "middle"]
    threshold = sc[sc.value_tier == "good"].clv.min()
    refunded = set(run.customers[run.customers.revenue <= 0].index)
    middle = middle[~middle.customer_id.isin(refunded)]
    from clv.analysis.risk import LOST_P_ALIVE

    near = middle[middle.clv >= (1 - n["within"]) * threshold]
    close = int((near.p_alive >= LOST_P_ALIVE).sum())  # not already gone (the win-back cut)
    gone = int((near.p_alive < LOST_P_ALIVE).sum())
    if "gone" in n:  # middle_gone: as close, already gone, left out of the list
        assert n["gone"] == gone > 0 and n["lost_p_alive"] == LOST_P_ALIVE
    else:  # middle_close, middle_none_close: the tier and the candidates the table shows
        assert n["middle"] == len(middle) and n["close"] == close


def _returning(run: Run, n: dict) -> None:
    o = run.orders
    first, later = o[o.order_number == 1], o[o.order_number > 1]
    want_new = first.amount.mean()
    want_ret = later.amount.mean() if len(later) else None
    assert close(n["aov_new"], want_new) and close(n["aov_returning"], want_ret)


def _channels_share_good(run: Run, n: dict) -> None:
    c = run.customers.reset_index()
    value = "margin" if "margin" in c.columns else "revenue"
    good_n = round(run.parameters["tier_cuts"][0] * len(c))
    ranked = c.sort_values([value, "customer_id"], ascending=[False, True])
    c["good"] = c.customer_id.isin(ranked.customer_id.head(good_n))
    per = c.groupby("channel").agg(customers=("good", "size"), share=("good", "mean"))
    per = per.reset_index().sort_values(["share", "channel"], ascending=[False, True])
    best, worst = per.iloc[0], per.iloc[-1]
    assert (n["best_customers"], n["worst_customers"]) == (best.customers, worst.customers)
    assert close(n["best_share"], best.share) and close(n["worst_share"], worst.share)
    # defect 12: every table agrees on each channel's customers (first order's channel)
    for name, row in run.kpis["channels"].items():
        assert row["customers"] == int((c.channel == name).sum()), name


def _channels_clv_cac(run: Run, n: dict) -> None:
    costs = run.parameters["channel_costs"]
    ratios = {
        name: row["new_customer_value"] / costs[name]
        for name, row in run.kpis["channels"].items()
        if name in costs
    }
    # defect 2: one CLV:CAC, a new customer's value / CAC, in kpis.json and on page one
    for name, ratio in ratios.items():
        assert close(run.kpis["channels"][name]["clv_cac"], ratio)
    assert close(n["best_clv_cac"], max(ratios.values()))
    assert close(n["worst_clv_cac"], min(ratios.values()))


def _no_channels(run: Run, n: dict) -> None:
    assert "channel" not in run.raw.columns or run.raw.channel.nunique() < 2


def _no_costs(run: Run, n: dict) -> None:
    assert not run.parameters.get("channel_costs")


def _no_loyalty(run: Run, n: dict) -> None:
    assert "loyalty" not in run.raw.columns


def _uncosted(run: Run, n: dict) -> None:
    assert not run.parameters["member_discount_rate"] and not run.parameters["cost_per_reward"]


def _loyalty_months(run: Run) -> pd.DataFrame:
    """The programme month by month, by hand: margin after the member discount (the
    default), so the programme's cost is its rewards."""
    o = run.orders
    o["month"] = o.date.dt.to_period("M")
    margin = o.margin if "margin" in o.columns else o.amount
    o["margin_"] = margin
    milestones = run.parameters["milestones"]
    o["reward"] = o.loyalty & o.order_number.isin(milestones)
    rows = []
    for month, m in o.groupby("month"):
        members, non = m[m.loyalty], m[~m.loyalty]
        active_m, active_n = members.customer_id.nunique(), non.customer_id.nunique()
        per_m = members.margin_.sum() / active_m if active_m else np.nan
        per_n = non.margin_.sum() / active_n if active_n else np.nan
        extra = (per_m - per_n) * active_m
        rate = run.parameters["member_discount_rate"]
        rows.append(
            {
                "month": month,
                "extra_margin": extra,
                "program_cost": m.reward.sum() * run.parameters["cost_per_reward"],
                "discount_cost": members.amount.sum() * rate / (1 - rate),
            }
        )
    frame = pd.DataFrame(rows)
    frame["net"] = frame.extra_margin - frame.program_cost
    return frame


def _loyalty_verdict(run: Run, n: dict) -> None:
    m = _loyalty_months(run)
    assert n["months"] == len(m)
    assert close(n["extra_margin"], m.extra_margin.sum(), 1e-6)
    assert close(n["program_cost"], m.program_cost.sum(), 1e-6)
    assert close(n["net"], m.net.sum(), 1e-6)
    spread = 1.645 * m.net.std() * math.sqrt(len(m))
    assert close(n["net_low"], m.net.sum() - spread, 1e-6)
    assert close(n["net_high"], m.net.sum() + spread, 1e-6)


def _loyalty_noise(run: Run, n: dict) -> None:
    m = _loyalty_months(run)
    sd = m.net.std()
    assert close(n["net_sd"], sd, 1e-6)
    assert n["months_within_noise"] == int(((m.net - m.net.mean()).abs() <= 1.645 * sd).sum())
    positive = (m.net > 0).astype(int)
    assert n["sign_changes"] == int(positive.diff().abs().sum())


def _loyalty_discount(run: Run, n: dict) -> None:
    assert close(n["discount_cost"], _loyalty_months(run).discount_cost.sum(), 1e-6)


def _stays(run: Run) -> pd.DataFrame:
    sc = run.scores.copy()
    sc["stays"] = (sc.clv / sc.p_alive).where(sc.p_alive > 0)
    sc = sc.merge(
        run.customers.revenue.rename("raw_revenue"), left_on="customer_id", right_index=True
    )
    return sc


def _high(run: Run) -> pd.DataFrame:
    sc = _stays(run)
    pool = sc[(sc.p_alive >= 0.05) & (sc.raw_revenue > 0)]
    cut = pool.stays.quantile(run.parameters["at_risk_min_value_quantile"])
    return sc[(sc.raw_revenue > 0) & (sc.p_alive >= 0.05) & (sc.stays >= cut)]


def _at_risk_p_alive(run: Run, n: dict) -> None:
    high = _high(run)
    listed = high[high.p_alive <= n["max_p_alive"]]
    assert n["customers"] == len(listed)
    assert close(n["value_at_stake"], ((1 - listed.p_alive) * listed.stays).sum(), 1e-9)
    at_risk = pd.read_csv(run.folder / "at_risk.csv", dtype={"customer_id": str})
    assert sorted(at_risk.customer_id) == sorted(listed.customer_id)


def _at_risk_lost(run: Run, n: dict) -> None:
    sc = _stays(run)
    positive = sc[sc.raw_revenue > 0]
    cut = positive.raw_revenue.quantile(run.parameters["at_risk_min_value_quantile"])
    lost = positive[(positive.p_alive < 0.05) & (positive.raw_revenue >= cut)]
    assert n["lost"] == len(lost) and close(n["lost_revenue"], lost.raw_revenue.sum(), 1e-9)
    written = pd.read_csv(run.folder / "lost.csv", dtype={"customer_id": str})
    assert sorted(written.customer_id) == sorted(lost.customer_id)  # the list the text names


def _silence(run: Run) -> pd.DataFrame:
    sc = _stays(run)
    end = pd.Timestamp(run.scores.observation_end.iloc[0])
    sc["last_purchase"] = pd.to_datetime(sc.last_purchase)
    span = (sc.last_purchase - pd.to_datetime(sc.first_purchase)).dt.days
    sc["gap"] = (span / sc.frequency).where(sc.frequency > 0)
    sc["gap"] = sc.gap.fillna(sc.gap.median())
    sc["gaps"] = (end - sc.last_purchase).dt.days / sc.gap
    return sc


def _at_risk_recency(run: Run, n: dict) -> None:
    high = _high(run)
    gaps = _silence(run).set_index("customer_id").gaps
    listed = high[high.customer_id.map(gaps) > n["overdue_gaps"]]
    assert n["customers"] == len(listed)
    assert n["overdue_gaps"] >= 1.0
    if n.get("bought_again") is not None:
        lapse = 1 - n["bought_again"]
        assert close(n["value_at_stake"], (listed.stays * lapse).sum(), 1e-9)
    else:
        assert close(n["value_at_stake"], listed.stays.sum(), 1e-9)


def _health_ok(run: Run, n: dict) -> None:
    codes = {d["code"] for d in run.model.get("diagnostics", [])}
    assert not codes & {"at_boundary", "se_larger_than_estimate", "no_dropout_seen"}


def _health_uncertain(run: Run, n: dict) -> None:
    codes = [d["code"] for d in run.model.get("diagnostics", [])]
    want = sum(c in ("at_boundary", "se_larger_than_estimate") for c in codes)
    assert n["uncertain_parameters"] == want > 0


def _health_no_dropout(run: Run, n: dict) -> None:
    sc = run.scores
    assert close(n["lowest_p_alive"], sc.p_alive.min())
    assert close(n["one_time_share"], float((sc.frequency == 0).mean()))


def _health_holdout(run: Run, n: dict) -> None:
    assert abs(n["purchases_error"]) > 0.2 or abs(n["spend_error"]) > 0.2


def _health_clv_exceeds(run: Run, n: dict) -> None:
    assert close(n["predicted_total"], run.scores.clv.sum(), 1e-9)
    assert n["predicted_total"] > n["last_year_value"]


def _quality_count(column: str) -> Callable[[Run, dict], None]:
    def check(run: Run, n: dict) -> None:
        if column == "zero_amounts":
            assert n[column] == int((run.raw.amount == 0).sum())
        elif column == "refunded_customers":
            assert n[column] == int((run.customers.revenue <= 0).sum())
        elif column == "house_accounts":
            o = run.orders.groupby("customer_id").size()
            assert n[column] == int(((o > 0.01 * o.sum()) & (o > 50 * o.median())).sum())
        elif column == "excluded_customers":  # the file's rows of the ids asked for
            every = pd.read_csv(run.shape.data, dtype=str)
            asked = every[every.customer_id.isin(run.parameters["exclude_customers"])]
            assert n[column] == asked.customer_id.nunique() > 0
            assert n["excluded_rows"] == len(asked)
        elif column == "placeholder_rows":
            text = Path(run.shape.data).read_text(encoding="utf-8")
            assert n[column] == len(re.findall(r",\(blank\),", text))
        elif column == "partial_month":
            first, last = run.raw.date.min(), run.raw.date.max()
            partial = first.day != 1 or (last + pd.Timedelta(days=1)).day != 1
            assert n[column] is True and partial
        else:
            assert n[column] == int(run.raw.duplicated().sum())

    return check


def _members(run: Run, n: dict) -> None:
    c = run.customers
    assert n["members"] == int(c.loyalty.sum()) and n["customers"] == len(c)
    assert close(n["member_orders"], c[c.loyalty].orders.mean())
    assert close(n["non_member_orders"], c[~c.loyalty].orders.mean())


def _members_at_risk(run: Run, n: dict) -> None:
    listed = pd.read_csv(run.folder / "at_risk.csv", dtype={"customer_id": str})
    members = run.customers[run.customers.loyalty].index
    assert n["members_at_risk"] == len(listed) and listed.customer_id.isin(members).all()
    assert close(n["members_value_at_stake"], listed.value_at_stake.sum(), 1e-9)


def _loyalty_month(run: Run, n: dict) -> None:
    o = run.orders
    last = o.date.max().to_period("M")
    this, before = o[o.date.dt.to_period("M") == last], o[o.date.dt.to_period("M") == last - 1]
    assert n["members_active"] == this[this.loyalty].customer_id.nunique()
    assert n["members_active_before"] == before[before.loyalty].customer_id.nunique()
    assert close(n["member_aov"], this[this.loyalty].amount.mean())
    assert close(n["non_member_aov"], this[~this.loyalty].amount.mean())


def _month_net(run: Run, n: dict) -> None:
    m = _loyalty_months(run)
    assert close(n["net"], m.net.iloc[-1], 1e-6)


RECOMPUTE: dict[str, Callable[[Run, dict], None]] = {
    "money_revenue": _money,
    "money_margin_column": _money,
    "money_margin_rate": _money,
    "top_customers": _top,
    "top_customers_no_clv": _top,
    "difference_share": _difference,
    "difference_probability": _difference,
    "difference_number": _difference,
    "middle_close": _middle,
    "middle_none_close": _middle,
    "middle_gone": _middle,
    "returning_more": _returning,
    "returning_less": _returning,
    "returning_same": _returning,
    "returning_none": _returning,
    "channels_none": _no_channels,
    "channels_share_good": _channels_share_good,
    "channels_clv_cac": _channels_clv_cac,
    "channels_no_costs": _no_costs,
    "loyalty_none": _no_loyalty,
    "loyalty_uncosted": _uncosted,
    "loyalty_pays": _loyalty_verdict,
    "loyalty_costs_more": _loyalty_verdict,
    "loyalty_unclear": _loyalty_verdict,
    "loyalty_noise": _loyalty_noise,
    "loyalty_discount_in_margin": _loyalty_discount,
    "loyalty_month": _loyalty_month,
    "loyalty_month_noise": _month_net,
    "loyalty_month_signal": _month_net,
    "loyalty_members": _members,
    "loyalty_members_at_risk": _members_at_risk,
    "at_risk_p_alive": _at_risk_p_alive,
    "at_risk_p_alive_none": _at_risk_p_alive,
    "at_risk_lost": _at_risk_lost,
    "at_risk_recency_measured": _at_risk_recency,
    "at_risk_recency_default": _at_risk_recency,
    "at_risk_recency_none": _at_risk_recency,
    "health_ok": _health_ok,
    "health_uncertain": _health_uncertain,
    "health_no_dropout": _health_no_dropout,
    "health_no_dropout_seen": _health_no_dropout,
    "health_holdout_failed": _health_holdout,
    "health_clv_exceeds_revenue": _health_clv_exceeds,
    "quality_excluded": _quality_count("excluded_customers"),
    "quality_placeholders": _quality_count("placeholder_rows"),
    "quality_duplicates": _quality_count("duplicate_rows"),
    "quality_house_accounts": _quality_count("house_accounts"),
    "quality_partial_month": _quality_count("partial_month"),
    "quality_refunded": _quality_count("refunded_customers"),
    "quality_zero_amounts": _quality_count("zero_amounts"),
}
"""A recomputation for every message id of :data:`clv.report.messages.MESSAGES`."""


def test_every_message_has_a_recomputation():
    from clv.report.messages import MESSAGES

    assert set(RECOMPUTE) == set(MESSAGES)


@pytest.mark.parametrize("name", shapes.NAMES)
def test_every_finding_recomputed_from_the_data(shape_runs, name):
    """Item 1 of issue 27: each first-page sentence's numbers, recomputed independently."""
    runs = shape_runs[name]
    for notebook in ("customer_value", "loyalty_review"):
        if notebook not in runs:
            continue
        run = Run(runs["shape"], runs[notebook])
        assert run.findings, notebook
        for record in run.findings:
            assert set(record) >= {"id", "numbers", "basis", "table", "text"}
            assert record["basis"]["money"] in ("revenue", "margin")
            RECOMPUTE[record["id"]](run, record["numbers"])


@pytest.mark.parametrize("name", shapes.NAMES)
def test_findings_json_holds_every_first_page_sentence(shape_runs, name):
    """Every sentence of "What this report found" is in findings.json, as written."""
    runs = shape_runs[name]
    for notebook in ("customer_value", "loyalty_review"):
        if notebook not in runs:
            continue
        folder = runs[notebook]
        page = _first_page_text(folder)
        found = json.loads((folder / "findings.json").read_text())["findings"]
        shown = html.unescape(re.sub(r"\s*\(section \d+\)", "", page))
        texts = " ".join(r["text"] for r in found)
        assert _squash(shown) == _squash(texts), notebook


@pytest.mark.parametrize("name", shapes.NAMES)
def test_masked_report_prints_no_customer_id(shape_runs, name):
    """Defect 4: with mask_ids on, no customer id of the data appears in the HTML as a whole
    token (tables, data-quality notes, house accounts, captions, alt text)."""
    from clv.report.sections import METHODS_HTML

    runs = shape_runs[name]
    static = set(re.findall(TOKEN, METHODS_HTML))  # the methods' citations: (1987), (2005)
    ids = set(runs["shape"].ids()) - static
    for notebook in ("customer_value", "loyalty_review"):
        if notebook not in runs:
            continue
        page = (runs[notebook] / f"{notebook}.html").read_text(encoding="utf-8")
        page = re.sub(r'src(?:set)?="data:image/png;base64,[^"]*"', "", page)
        page = re.sub(r' (?:width|height)="\d+"', "", page)  # an image's pixels, not an id
        # dates in the locale's form ("1 Jan 1997", "Jan 1997", "7 Dec 2026, 03:10:00"): their
        # year is a token of its own, which is not a customer id however the data names them
        page = re.sub(r"\b(?:\d{1,2} )?[A-Z][a-z]{2,8}\.? \d{4}\b", "", page)
        tokens = set(re.findall(TOKEN, page))
        assert not ids & tokens, sorted(ids & tokens)[:5]


TOKEN = r"[^\s<>\"'=;:,()\[\]{}]+"
"""A whole token of the HTML: what lies between spaces, markup and punctuation."""


def _first_page_text(folder: Path) -> str:
    page = next(folder.glob("*.html")).read_text(encoding="utf-8")
    block = re.search(r'<dl class="clv-found">(.*?)</dl>', page, re.S)
    assert block is not None
    items = re.findall(r"<dd>(.*?)</dd>", block.group(1), re.S)
    return " ".join(re.sub(r"<[^>]+>", "", i) for i in items)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
