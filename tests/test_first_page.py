"""The report's claims: first-page records, their wording and the tables they come from.

Each test names the defect of issue 27 it covers; the recomputation on the five data shapes is
in ``test_findings.py`` (slow), the at-risk rules in ``test_risk.py``.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import matplotlib
import polars as pl
import pytest

from clv.analysis import findings as analysis_findings
from clv.analysis import tables
from clv.analysis.segments import segment_totals
from clv.report import first_page, messages, sections

matplotlib.use("Agg")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

COSTS = {"search": 20.0, "paid_social": 40.0, "referral": 10.0}
COLUMNS = {"order_col": "order_id", "channel_col": "channel", "loyalty_col": "loyalty"}


@pytest.fixture(scope="module")
def shop_csv(tmp_path_factory):
    from clv.data.datasets import synthetic_shop

    path = tmp_path_factory.mktemp("first-page") / "shop.csv"
    synthetic_shop(800, seed=3)[0].write_csv(path)
    return path


@pytest.fixture(scope="module")
def shop(shop_csv):
    import clv

    return clv.analyze(
        shop_csv,
        **COLUMNS,
        margin_col="margin",
        channel_costs=COSTS,
        member_discount_rate=0.05,
        cost_per_reward=4.0,
        currency="EUR",
    )


@pytest.fixture(scope="module")
def cdnow():
    import clv

    return clv.analyze()


def _records(analysis) -> dict[str, dict]:
    return {r["id"]: r for r in first_page.records(analysis.findings)}


def test_records_have_the_shape_findings_json_needs(shop):
    """Item 1: each sentence is a record with its numbers, basis, table and text; the text
    is the message template filled with the numbers."""
    for record in first_page.records(shop.findings):
        assert set(record) >= {"id", "numbers", "basis", "table", "text"}
        assert record["id"] in messages.MESSAGES
        assert record["basis"] == {
            "money": "margin",
            "currency": "EUR",
            "period": {
                "first_day": shop.period.first_day.isoformat(),
                "observation_end": shop.period.observation_end.isoformat(),
                "horizon": "12 months",
            },
        }
        json.dumps(record)  # plain JSON


def test_save_run_writes_findings_json(tmp_path, shop):
    from clv.report import runs

    found = first_page.records(shop.findings)
    (tmp_path / "manifest.json").write_text("{}")
    runs.save_run(tmp_path, findings=found)
    written = json.loads((tmp_path / "findings.json").read_text())["findings"]
    assert [r["text"] for r in written] == [r["text"] for r in found]


def test_one_clv_cac_everywhere(shop):
    """Defect 2: CLV:CAC is a new customer's value over the channel's CAC in the channel
    table, kpis.json and the first page; the mean-CLV ratio is gone."""
    groups = shop.channel_value.groups
    for row in groups.iter_rows(named=True):
        if row["channel"] in COSTS:
            assert row["clv_cac"] == pytest.approx(
                row["new_customer_value"] / COSTS[row["channel"]]
            )
    table = shop.channels
    joined = table.join(groups.select("channel", theirs="clv_cac"), on="channel")
    assert joined["clv_cac"].to_list() == joined["theirs"].to_list()
    for row in table.iter_rows(named=True):
        assert shop.kpis["channels"][row["channel"]]["clv_cac"] == row["clv_cac"]
    record = _records(shop)["channels_clv_cac"]
    assert record["numbers"]["best_clv_cac"] == max(joined["clv_cac"])
    assert record["numbers"]["worst_clv_cac"] == min(joined["clv_cac"])
    assert "new" in record["text"] and "customer" in record["text"]
    assert record["numbers"]["best_clv_cac"] != pytest.approx(
        table.sort("mean_clv")["mean_clv"][-1] / COSTS[table.sort("mean_clv")["channel"][-1]]
    )


def test_channel_tables_agree_on_the_first_orders_channel(shop, shop_csv):
    """Defect 12: the acquisition channel is the first order's everywhere; each channel has
    one customer count; no channel appears that never brought a first order."""
    raw = pl.read_csv(shop_csv, try_parse_dates=True).with_row_index("row")
    first = (
        raw.sort("customer_id", "date", "order_id", "row")
        .group_by("customer_id", maintain_order=True)
        .first()
    )
    want = dict(first.group_by("channel").len().iter_rows())
    assert dict(shop.channels.select("channel", "customers").iter_rows()) == want
    groups = shop.channel_value.groups
    assert dict(groups.select("channel", "customers").iter_rows()) == want
    assert "mean_clv" not in tables.channel_value_table(shop.channel_value).columns


def test_customer_value_takes_the_programmes_costs_and_states_the_verdict(shop):
    """Defect 3: customer_value accepts member_discount_rate and cost_per_reward and states
    the verdict on its first page, with an interval and the self-selection caveat."""
    from clv import params

    given = {"member_discount_rate": "0.05", "cost_per_reward": "4", "loyalty_col": "member"}
    checked = params.validate(given)
    assert checked == {
        "member_discount_rate": 0.05,
        "cost_per_reward": 4.0,
        "loyalty_col": "member",
    }
    spec = params.notebook_spec("customer_value")
    assert {"member_discount_rate", "cost_per_reward", "margin_after_member_discount"} <= set(spec)
    ids = _records(shop)
    verdict = next(
        r for k, r in ids.items() if k in ("loyalty_pays", "loyalty_costs_more", "loyalty_unclear")
    )
    assert "90% interval" in verdict["text"] and "not the programme's effect" in verdict["text"]


def test_quality_table_masks_house_accounts():
    """Defect 4: the data-quality table names house accounts by their masked id."""
    from clv.data.quality import Quality
    from clv.report.render import mask_ids

    quality = Quality(rows_read=10, house_accounts={"12748": 210, "14911": 201})
    shown = sections.quality_table(quality, id_salt="salt")
    text = " ".join(shown["value"].to_list())
    assert "12748" not in text and "14911" not in text
    for masked in mask_ids(["12748", "14911"], "salt"):
        assert masked in text
    plain = " ".join(sections.quality_table(quality)["value"].to_list())
    assert "12748: 210 orders" in plain


def test_a_mean_probability_is_not_worded_as_a_share():
    """Defect 5: "71 % of top customers probability of being still active" is gone."""
    record = messages.record(
        "difference_probability",
        {"metric": "p_alive", "top": 0.71, "rest": 0.4},
        basis={"money": "revenue", "currency": ""},
        table="top_profile",
        topic="What sets them apart",
        words={"what": messages.DIFFERENCE_WORDS["p_alive"]},
    )
    assert record["text"] == (
        "Top customers' mean probability of still being a customer is 71%, the rest's 40%."
    )
    assert " of top customers probability" not in record["text"]


def test_tiers_name_their_basis_and_are_not_called_bad(cdnow):
    """Defects 6, 18 and 19: the CLV tier table's first column reads "tier by predicted CLV",
    no tier is "bad", and the page says what ranks the top and the middle tier."""
    from clv.report.headers import header

    by_revenue, by_clv, _ = tables.tier_tables(cdnow.segments, cdnow.tiers)
    assert header(by_clv.columns[0]) == "tier by predicted CLV"
    assert header(by_revenue.columns[0]) == "tier by revenue"
    assert "bad" not in by_clv["value_tier"].to_list() + by_revenue["tier"].to_list()
    found = _records(cdnow)
    assert "by historical revenue" in found["top_customers"]["text"]
    assert "tiers by predicted value" in found["middle_close"]["text"]


def test_legends_and_notes_name_the_model_used():
    """Defect 7: legends and definitions name the purchase model that was used."""
    from clv import plots

    counts = pl.DataFrame({"frequency": ["0", "1"], "observed": [10, 5], "expected": [9.0, 6.0]})
    ax = plots.period_transactions(counts, model_title="MBG/NBD")
    labels = ax.get_legend_handles_labels()[1]
    assert "MBG/NBD expected" in labels and not any(x == "BG/NBD expected" for x in labels)
    assert "(BG/NBD)" not in sections.METHODS_HTML
    assert "under the purchase model named in section 4" in sections.METHODS_HTML


def _model(codes=()):
    from types import SimpleNamespace

    diagnostics = [{"code": c, "message": "x"} for c in codes]
    return SimpleNamespace(purchase_model="mbgnbd", diagnostics=diagnostics)


def test_model_health_says_in_plain_words_when_a_check_failed():
    """Defects 8 and 13: a failed holdout check, a model that sees no churn although a third
    never came back, and 12-month value above last year's revenue each get a plain line; the
    parameters' standard errors are a count, not five lines of jargon."""
    metrics = pl.DataFrame({"quantity": ["purchases", "spend"], "relative_error": [-0.25, -0.40]})
    segments = pl.DataFrame(
        {
            "p_alive": [0.88, 0.95, 0.99],
            "frequency": [0, 0, 3],
            "top": [False, False, True],
            "revenue": [1.0, 2.0, 3.0],
            "clv": [13.14e6, 0.0, 0.0],
        }
    )
    health = analysis_findings.model_health(
        _model(["se_larger_than_estimate"] * 5),
        holdout={"metrics": metrics},
        totals=segment_totals(segments),
        last_year_value=12.98e6,
        horizon_months=12,
    )
    assert health["holdout_failed"] and health["no_dropout"] and health["clv_exceeds_revenue"]
    basis = {"money": "revenue", "currency": "GBP"}
    found = {
        r["id"]: r["text"]
        for r in first_page.health_records(health, basis, {"horizon": "12 months"})
    }
    assert "-25% purchases and -40% spend" in found["health_holdout_failed"]
    assert "lowest probability of still being a customer is 88%" in found["health_no_dropout"]
    assert "67% of the customers never bought again" in found["health_no_dropout"]
    assert "£13,140,000" in found["health_clv_exceeds_revenue"]
    assert "£12,980,000" in found["health_clv_exceeds_revenue"]
    assert found["health_uncertain"].startswith(
        "Parameters of the model that the data determine poorly: 5"
    )
    assert "standard error" not in " ".join(found.values())
    healthy = analysis_findings.model_health(
        _model(),
        holdout={"metrics": metrics.with_columns(relative_error=pl.lit(0.05))},
        totals=segment_totals(
            segments.with_columns(p_alive=pl.Series([0.1, 0.5, 0.9]), clv=pl.lit(1.0 / 3))
        ),
        last_year_value=2.0,
        horizon_months=12,
    )
    ok = first_page.health_records(healthy, basis, {"horizon": "12 months"})
    assert [r["id"] for r in ok] == ["health_ok"]
    assert ok[0]["text"].startswith("The MBG/NBD model passed its checks")


def test_axes_carry_the_currency_and_no_offset():
    """Defect 9: chart axes name the currency, and the revenue chart has no 1e6 offset."""
    import datetime as dt

    from clv import plots as plots_kpis

    monthly = pl.DataFrame(
        {
            "month": [dt.date(2024, m, 1) for m in (1, 2, 3)],
            "new_revenue": [1.2e6, 2.5e6, 3.1e6],
            "returning_revenue": [2.0e6, 4.0e6, 5.0e6],
        }
    )
    ax = plots_kpis.revenue_by_month(monthly, currency="SEK")
    ax.figure.canvas.draw()
    assert "(SEK)" in ax.get_ylabel()
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert any("," in t.get_text() for t in ax.get_yticklabels())
    assert (
        "(currency)"
        not in plots_kpis.loyalty_by_month(
            pl.DataFrame(
                {
                    "month": [dt.date(2024, 1, 1)],
                    "member_aov": [10.0],
                    "non_member_aov": [8.0],
                }
            ),
            currency="EUR",
        ).get_ylabel()
    )


def test_loyalty_review_has_its_own_first_page(shop):
    """Defect 11: the loyalty review states what it found, flags months within noise, counts
    the discount once and defines its terms."""
    found = first_page.loyalty_review_records(shop.loyalty_findings)
    ids = [r["id"] for r in found]
    assert ids[0] == "loyalty_month"
    assert "loyalty_noise" in ids and "loyalty_members" in ids and "loyalty_members_at_risk" in ids
    noise = next(r for r in found if r["id"] == "loyalty_noise")
    assert "says little" in noise["text"]
    totals = shop.loyalty_totals
    by_month = shop.loyalty_by_month
    assert totals["program_cost"] == pytest.approx(by_month["reward_cost"].sum())  # no discount
    nb = json.loads(NOTEBOOKS.joinpath("loyalty_review.ipynb").read_text(encoding="utf-8"))
    text = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for term in ("*Extra margin*", "*Discount cost*", "*Rewards*", "*Expected to reach*"):
        assert term in text
    assert "## What this report found" in text and "## 8. The data and the model" in text


def test_no_jargon_on_the_first_page(shop, cdnow):
    """Defect 13: no AOV, p_alive, cant_lose, non_members, margin_col= or standard errors on
    the first page; model words are explained in the glossary."""
    for analysis in (shop, cdnow):
        text = " ".join(r["text"] for r in first_page.records(analysis.findings))
        for word in (
            "AOV",
            "p_alive",
            "cant_lose",
            "non_members",
            "margin_col=",
            "standard error",
            "a = ",
        ):
            assert word not in text, word
    assert '<h3 id="Glossary">' in sections.METHODS_HTML


def test_simple_formula_annualised_from_less_than_two_years(cdnow):
    """Defect 14: 18 months of CDNOW give an annual retention (annualised over two windows)
    and a simple formula, and revenue is not called margin."""
    economics = cdnow.retention
    assert economics["annual_retention"] is not None and economics["simple_clv"] > 0
    days = economics["annualised_from_days"]
    assert days == ((cdnow.period.observation_end - cdnow.period.first_day).days + 1) // 2
    uplift, compare, notes = sections.retention_tables(economics)
    metrics = " ".join(uplift["metric"].to_list() + compare["metric"].to_list())
    assert "margin" not in metrics and "revenue per active customer" in metrics
    assert any("annualised" in n for n in notes)


def test_first_page_has_no_repeated_sentence(shop, cdnow):
    """Defect 16: no sentence appears twice on the first page."""
    for analysis in (shop, cdnow):
        texts = [r["text"] for r in first_page.records(analysis.findings)]
        assert len(texts) == len(set(texts))


def test_zero_amounts_counted_for_the_embedded_data(cdnow, lifetimes_dir):
    """Defect 17: CDNOW's eight 0-dollar rows are counted (recomputed from the file)."""
    lines = (lifetimes_dir / "datasets" / "CDNOW_sample.txt").read_text().splitlines()
    zero = sum(float(line.split()[-1]) == 0 for line in lines)
    assert zero == 8 and cdnow.quality.zero_amounts == zero
    assert "Rows with an amount of 0 (kept): 8." in [
        r["text"] for r in first_page.records(cdnow.findings)
    ]


def test_returning_about_the_same_is_not_called_more():
    """Defect 18: no canned "spend more" when returning and first orders are within 5 %."""
    basis = {"money": "revenue", "currency": ""}
    same = first_page._returning({"aov_new": 30.02, "aov_returning": 30.16, "ratio": 1.005}, basis)
    assert same["id"] == "returning_same" and "more" not in same["text"]


def test_tier_share_chart_names_each_ranking():
    """Defect 19: the tier chart's legend says which ranking each share comes from."""
    from clv import plots as plots_kpis

    shares = pl.DataFrame(
        {
            "tier": ["good", "middle", "low"],
            "customer_share": [0.2, 0.6, 0.2],
            "revenue_share": [0.6, 0.35, 0.05],
            "clv_share": [0.55, 0.4, 0.05],
        }
    )
    labels = plots_kpis.tier_shares(shares).get_legend_handles_labels()[1]
    assert "revenue (tiers by revenue)" in labels and "predicted CLV (tiers by CLV)" in labels


def test_parameters_table_leaves_out_the_embedded_data_set_for_a_file(monkeypatch):
    """Defect 22: a report on a CSV does not list dataset synthetic_shop."""
    from clv.report import render

    shown: list[pl.DataFrame] = []
    display = render.Display(mask_ids=True, id_salt="s")
    monkeypatch.setattr(display, "table", lambda frame, **_: shown.append(frame))
    display.params(
        {
            "data": "shop.csv",
            "dataset": "synthetic_shop",
            "synthetic_customers": 5000,
            "horizon": 12.0,
        }
    )
    assert shown[0]["parameter"].to_list() == ["data", "horizon"]
    display.params({"data": None, "dataset": "cdnow"})
    assert shown[1]["parameter"].to_list() == ["data", "dataset"]


def test_parameters_table_shows_spark_settings_on_spark_only_and_hides_secrets(monkeypatch):
    from clv.report import render

    shown: list[pl.DataFrame] = []
    display = render.Display(mask_ids=True, id_salt="s")
    monkeypatch.setattr(display, "table", lambda frame, **_: shown.append(frame))
    spark = {"spark_master": None, "spark_conf": None}
    display.params({"data": "shop.csv", "engine": "polars", **spark})
    assert shown[0]["parameter"].to_list() == ["data", "engine"]
    conf = {
        "spark.sql.shuffle.partitions": "400",
        "spark.hadoop.fs.s3a.secret.key": "abc123",
        "spark.pyspark.python": "/home/alice/venv/bin/python",
    }
    display.params({"data": "shop.csv", "engine": "spark", **spark})
    assert shown[1]["parameter"].to_list() == ["data", "engine"]
    display.params({"engine": "spark", "spark_master": "yarn", "spark_conf": conf})
    assert dict(shown[2].iter_rows())["spark_conf"] == (
        "spark.sql.shuffle.partitions=400, spark.hadoop.fs.s3a.secret.key=(hidden), "
        "spark.pyspark.python=python"
    )


def test_model_comparison_shows_what_chooses(cdnow_calibration):
    """Defect 23: the comparison shows the holdout error it chooses by, to enough digits that
    a choice is never shown as a tie; log-likelihoods are named calibration; parameters keep
    four significant digits (a = 0.00186, not 0.00)."""
    import clv
    from clv.report.html_table import table_html

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = clv.analyze(purchase_model="auto")
    table = tables.model_comparison(analysis.model)
    assert table.columns[:3] == ["purchase_model", "holdout_mae", "chosen"]
    assert "calibration_log_likelihood" in table.columns and "log_likelihood" not in table.columns
    html = table_html(table, formats=tables.COMPARISON_FORMATS)
    shown = re.findall(r"0\.\d{6}", html)
    assert len(set(shown)) == len(shown)  # six decimals: no displayed tie
    chosen = table.filter(pl.col("chosen"))["holdout_mae"][0]
    assert chosen == table["holdout_mae"].min()
    params = tables.parameter_table(analysis.model, "purchase")
    html = table_html(params, formats=tables.PARAMETER_FORMATS)
    for value in params["estimate"].to_list():
        assert f"{value:.4g}" in html


def test_clv_score_by_channel_names_the_pooled_groups(tmp_path, capsys):
    """Defect 24: clv score --by channel says which groups the pooled model scored."""
    from clv.cli import main
    from clv.data.datasets import synthetic_shop

    tx = synthetic_shop(600, seed=2)[0]
    rare = tx["customer_id"].unique().sort().head(3)
    tx = tx.with_columns(
        channel=pl.when(pl.col("customer_id").is_in(rare.implode()))
        .then(pl.lit("tiktok"))
        .otherwise(pl.col("channel"))
    )
    data = tmp_path / "shop.csv"
    tx.write_csv(data)
    out = tmp_path / "scores.parquet"
    args = ["score", str(data), "--channel-col", "channel", "--by", "channel", "--out", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(args) == 0
    printed = capsys.readouterr()
    assert "tiktok uses the pooled model" in printed.out + printed.err


def test_model_notes_say_each_thing_once(cdnow):
    """Defect 16: "1,218 customers left out ... 1,218 customers without ..." is said once, and
    no model note repeats a Model health line."""
    notes = sections.model_notes(cdnow.model)
    text = " ".join(notes)
    assert text.count("1,218") == 1
    health = {d["message"] for d in cdnow.model.diagnostics}
    assert not health & set(notes)
    assert len(notes) == len(set(notes))


def test_negative_quantity_is_called_a_quantity(tmp_path):
    """Defect 15: a negative Quantity of a UCI export is not called a negative amount."""
    from clv.data.io import read_transactions
    from clv.errors import DataError

    data = tmp_path / "uci.csv"
    data.write_text(
        "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
        "1,2,12/13/2010 8:26,2.55,17850\n"
        "C2,-1,12/14/2010 9:00,2.55,17850\n"
    )
    with pytest.raises(DataError) as error:
        read_transactions(
            data,
            customer_col="CustomerID",
            date_col="InvoiceDate",
            quantity_col="Quantity",
            price_col="UnitPrice",
        )
    message = str(error.value)
    assert "column 'Quantity'" in message and "negative quantity '-1'" in message
    assert "negative amount" not in message


def test_tables_show_shares_as_the_text_does():
    """Defect 13: a share is 48.3% in a table as in the sentence beside it, never 0.483."""
    from clv.report.html_table import table_html

    frame = pl.DataFrame(
        {
            "channel": ["search"],
            "share_good": [0.483],
            "repeat_rate": [0.5],
            "p_alive": [0.25],
            "customer_share": [0.1],
            "aov": [12.5],
        }
    )
    html = table_html(frame)
    for shown in ("48.3%", "50.0%", "25.0%", "10.0%", ">12.50<"):
        assert shown in html
    assert "0.483" not in html and "0.48<" not in html


def test_the_tier_table_counts_the_customers_the_first_page_counts():
    """The first page's middle tier and section 9's table are one count: customers whose net
    revenue is zero or below are left out of both (they are scored, not listed)."""
    import clv
    from clv.analysis import tables

    analysis = clv.analyze()
    _, by_clv, _ = tables.tier_tables(analysis.segments, analysis.tiers)
    middle = by_clv.filter(pl.col("value_tier") == "middle")["customers"].item()
    assert middle == analysis.findings["middle"]["middle"]
    kept = analysis.segments.filter(pl.col("revenue") > 0)
    assert by_clv["customers"].sum() == kept.height < analysis.segments.height


def test_no_customer_is_both_close_to_the_top_and_already_gone(cdnow):
    """A middle-tier customer who has probably left (P(alive) below the lost cut) is a
    win-back, not a step up: on CDNOW customer 0509 (P(alive) 0.03, 0.81 below the good
    tier's lowest CLV) was first in the middle-to-top table and on the win-back list. The
    first page counts the customers the table shows, and says how many it left out."""
    from clv.analysis.risk import LOST_P_ALIVE

    analysis = cdnow
    candidates, lost = analysis.middle_to_top, analysis.lost
    assert lost.height and not set(candidates["customer_id"]) & set(lost["customer_id"])
    # recomputed with pandas from the segments: the middle tier, full refunds left out
    seg = analysis.segments.to_pandas()
    threshold = seg[seg.value_tier == "good"].clv.min()
    middle = seg[(seg.value_tier == "middle") & (seg.revenue > 0)]
    near = middle[middle.clv >= (1 - analysis_findings.CLOSE_TO_TOP) * threshold]
    gone = near[near.p_alive < LOST_P_ALIVE]
    assert "0509" in set(gone.customer_id) and "0509" in set(lost["customer_id"])
    assert sorted(candidates["customer_id"]) == sorted(
        middle[middle.p_alive >= LOST_P_ALIVE].customer_id
    )
    found = analysis.findings["middle"]
    assert found["middle"] == len(middle) == 1411
    assert found["close"] == len(near) - len(gone) == 93 and found["gone"] == len(gone) == 1
    shown = candidates.filter(pl.col("clv_gap") <= found["within"] * threshold)
    assert shown.height == found["close"]
    records = {r["id"]: r for r in first_page.records(analysis.findings)}
    assert records["middle_close"]["numbers"]["close"] == 93
    assert "not already gone" in records["middle_close"]["text"]
    assert records["middle_gone"]["numbers"] == {"gone": 1, "within": 0.25, "lost_p_alive": 0.05}
    assert records["middle_gone"]["text"].endswith("left out of the middle-to-top list: 1.")
