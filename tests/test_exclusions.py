"""Customers left out on request (``exclude_customers``): the rows dropped, counted and
reported, checked against pandas reading the same file on its own."""

import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import clv
from clv import params
from clv.cli import main
from clv.data.exclusions import customer_ids
from clv.data.io import load_transactions
from clv.errors import DataError, UsageError
from clv.report.html_table import mask_ids
from clv.report.sections import quality_table

HOUSES = ["H-001", "0042"]
"""Two house accounts added to the shop: one id with leading zeros (kept as text)."""


@pytest.fixture(scope="module")
def house_csv(shop, tmp_path_factory) -> Path:
    """The synthetic shop as a CSV file, with two house accounts buying every few days."""
    tx = shop[0].select("customer_id", "date", "amount", "order_id")
    days = tx["date"].unique().sort()[::3]
    houses = pl.concat(
        pl.DataFrame(
            {
                "customer_id": [who] * len(days),
                "date": days,
                "amount": [round(19.5 + 7 * (i % 5), 2) for i in range(len(days))],
                "order_id": [f"{who}-{i}" for i in range(len(days))],
            }
        )
        for who in HOUSES
    )
    path = tmp_path_factory.mktemp("houses") / "orders.csv"
    pl.concat([tx, houses.cast(tx.schema)]).sample(fraction=1.0, shuffle=True, seed=3).write_csv(
        path
    )
    return path


def pandas_without(path: Path, ids: list[str]) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype={"customer_id": str})
    return raw[~raw["customer_id"].isin(ids)]


def test_the_rows_of_excluded_customers_are_left_out_and_counted(house_csv) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_transactions(house_csv, exclude_customers=HOUSES)
    assert not any("house" in str(w.message) for w in caught)  # none is flagged any more
    raw = pd.read_csv(house_csv, dtype={"customer_id": str})
    expected = pandas_without(house_csv, HOUSES)
    tx = loaded.transactions
    assert tx.height == len(expected)
    assert tx["customer_id"].n_unique() == expected["customer_id"].nunique()
    assert tx["amount"].sum() == pytest.approx(expected["amount"].sum(), rel=1e-12)
    left_out = raw[raw["customer_id"].isin(HOUSES)]["customer_id"].value_counts().to_dict()
    assert loaded.quality.excluded_customers == left_out
    assert loaded.quality.rows_read == len(raw)
    assert loaded.quality.excluded_not_found == ()
    assert loaded.quality.house_accounts == {}


def test_analysis_without_the_houses_is_pandas_revenue_per_customer(house_csv) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = clv.analyze(house_csv, exclude_customers="H-001, 0042", order_col="order_id")
        kept = clv.analyze(house_csv, order_col="order_id")
    expected = pandas_without(house_csv, HOUSES).groupby("customer_id")["amount"].sum()
    revenue = dict(analysis.segments.select("customer_id", "revenue").iter_rows())
    assert set(revenue) == set(expected.index)
    assert all(revenue[c] == pytest.approx(v, abs=1e-9) for c, v in expected.items())
    assert analysis.summary.height == kept.summary.height - 2
    quality = analysis.findings["quality"]
    assert quality["excluded_customers"] == 2
    assert quality["excluded_rows"] == sum(analysis.quality.excluded_customers.values())
    assert set(kept.quality.house_accounts) == set(HOUSES)  # what the reader flagged


def test_an_id_file_with_a_header_and_the_cli_option_give_the_same_rows(
    house_csv, tmp_path, capsys
) -> None:
    ids = tmp_path / "house accounts.csv"
    ids.write_text("customer_id\nH-001\n0042\n\n")
    assert customer_ids(ids) == HOUSES
    assert customer_ids(str(ids)) == HOUSES
    assert customer_ids(["H-001", " 0042 ", "H-001"]) == HOUSES
    assert customer_ids([1001, "1002"]) == ["1001", "1002"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file = load_transactions(house_csv, exclude_customers=str(ids))
        from_list = load_transactions(house_csv, exclude_customers=HOUSES)
    assert from_file.transactions.equals(from_list.transactions)
    out = tmp_path / "summary.csv"
    argv = ["summarize", str(house_csv), "--exclude-customers", str(ids), "--out", str(out)]
    assert main(argv) == 0
    summary = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    assert not summary["customer_id"].is_in(HOUSES).any()
    assert summary.height == from_file.transactions["customer_id"].n_unique()
    assert "(4,000 customers)" in capsys.readouterr().err  # the shop's, without the houses


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("H-001,0042", "H-001,0042"),
        ('["H-001", "0042"]', ["H-001", "0042"]),
        ("houses.txt", "houses.txt"),
        ("none", None),
    ],
)
def test_the_parameter_reads_ids_lists_and_files(text, value) -> None:
    assert params.validate({"exclude_customers": text}) == {"exclude_customers": value}


def test_a_wrong_value_or_file_is_one_line(house_csv, tmp_path) -> None:
    with pytest.raises(UsageError, match="exclude_customers"):
        params.validate({"exclude_customers": [1.5]})
    with pytest.raises(DataError, match=r"missing\.txt: exclude_customers file not found"):
        load_transactions(house_csv, exclude_customers=str(tmp_path / "missing.txt"))
    two = tmp_path / "two.csv"
    two.write_text("H-001\n0042,note\n")
    with pytest.raises(DataError, match=r"two.csv: row 2: 2 columns; .* one id per line"):
        customer_ids(two)
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("customer_id,date,amount\na,2024-01-02,5\na,2024-01-09,7\n")
    with pytest.raises(DataError, match="every row's customer is in exclude_customers") as e:
        load_transactions(tiny, exclude_customers=["a"])
    assert "\n" not in str(e.value)


def test_an_id_not_in_the_data_is_named_once_and_masked_in_the_report(house_csv) -> None:
    with pytest.warns(UserWarning, match=r"exclude_customers names 'X-999', not in the data"):
        loaded = load_transactions(house_csv, exclude_customers=["H-001", "X-999"])
    assert loaded.quality.excluded_not_found == ("X-999",)
    table = quality_table(loaded.quality, id_salt="salt")
    text = " ".join(table["value"].to_list())
    assert "X-999" not in text and mask_ids(["X-999"], "salt")[0] in text
    rows = loaded.quality.excluded_customers["H-001"]
    assert f"1 customer: {rows:,} rows" in text
    shown = quality_table(loaded.quality)  # ids shown when the report does not mask them
    assert "X-999" in " ".join(shown["value"].to_list())
