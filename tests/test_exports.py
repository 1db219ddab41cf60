"""Real shop exports read with column options alone give exactly the ISO file's summary."""

import datetime as dt
import warnings
from decimal import Decimal

import polars as pl
import pytest
from shop_exports import (
    amount,
    iso_csv,
    polish_csv,
    polish_id,
    purchases,
    shopify_csv,
    shopify_id,
    swedish_csv,
    uci_csv,
)

from clv.cli import main
from clv.data.io import load_transactions, read_transactions
from clv.data.rfm import rfm_summary
from clv.errors import ClvInfo

END = "2024-12-31"


@pytest.fixture(scope="module")
def rows():
    return purchases()


def summary(path, **options) -> pl.DataFrame:
    return rfm_summary(read_transactions(path, **options), observation_end=END)


def test_uci_export_reads_and_leaves_blank_ids_out(rows, tmp_path):
    path, options = uci_csv(tmp_path / "Online Retail.csv", rows)
    with pytest.warns(UserWarning) as caught:
        loaded = load_transactions(path, order_col="InvoiceNo", **options)
    messages = [str(w.message) for w in caught]
    assert any("dates read as %m/%d/%Y" in m for m in messages)
    assert any(
        "left out 25 rows whose customer id is a placeholder: '(blank)' 25" in m for m in messages
    )
    assert loaded.quality.placeholder_ids == {"(blank)": 25}
    assert loaded.quality.rows_read == len(rows) + 25
    assert loaded.quality.date_format == "%m/%d/%Y"
    expected = summary(iso_csv(tmp_path / "iso.csv", rows))
    assert rfm_summary(loaded.transactions.drop("order_id"), observation_end=END).equals(expected)
    # amount = quantity x unit price, to the cent, as exact decimals give it
    assert loaded.transactions["amount"].to_list() == [float(amount(r)) for r in rows]


@pytest.mark.parametrize("export", [swedish_csv, polish_csv, shopify_csv])
def test_european_and_shopify_exports_equal_the_iso_file(export, rows, tmp_path):
    path, options = export(tmp_path / f"{export.__name__}.csv", rows)
    ids = {polish_csv: polish_id, shopify_csv: shopify_id}.get(export, str)
    expected = summary(iso_csv(tmp_path / "iso.csv", rows, ids))
    with pytest.warns(UserWarning):
        got = summary(path, **{k: v for k, v in options.items() if k != "order_col"})
    assert got.equals(expected)


def test_shopify_guests_and_offsets_keep_the_local_day(rows, tmp_path):
    path, options = shopify_csv(tmp_path / "orders_export.csv", rows, guests=10)
    with pytest.warns(UserWarning, match=r"left out 10 rows .*placeholder: '' 10"):
        loaded = load_transactions(path, **options)
    assert loaded.quality.placeholder_ids == {"": 10}
    late = tmp_path / "late.csv"
    late.write_text(
        "Email,Created at,Total\na@x.se,2024-03-05 23:50:00 +0100,1\n"
        "a@x.se,2024-03-06T00:10:00+01:00,2\nb@x.se,2024-03-06T00:10:00Z,3\n"
    )
    tx = read_transactions(late, customer_col="Email", date_col="Created at", amount_col="Total")
    assert tx["date"].to_list() == [dt.date(2024, 3, 5), dt.date(2024, 3, 6), dt.date(2024, 3, 6)]


def test_quality_counts_duplicates_before_netting(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id,date,amount\nA,2024-01-02,10\nA,2024-01-02,10\nA,2024-02-01,-10\n"
        "B,2024-01-05,0\nB,2024-03-31,5\nguest,2024-02-01,9\n"
    )
    with pytest.warns(UserWarning):
        quality = load_transactions(path, negative_amounts="net").quality
    assert (quality.rows_read, quality.duplicate_rows, quality.refunds_netted) == (6, 1, 1)
    assert (quality.zero_amounts, quality.placeholder_ids) == (1, {"guest": 1})
    assert (quality.first_month_partial, quality.last_month_partial) == (True, False)


def test_house_account_is_warned_about_and_kept(tmp_path):
    rows = [f"c{i},2024-01-0{1 + i % 5},1" for i in range(200)]
    rows += [f"HOUSE,2024-{m:02d}-{d:02d},1" for m in range(1, 13) for d in range(1, 28)]
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"customer 'HOUSE' holds 324 orders \(61.8% of all\)"):
        loaded = load_transactions(path)
    assert loaded.quality.house_accounts == {"HOUSE": 324}
    assert "HOUSE" in loaded.transactions["customer_id"].to_list()


def test_frames_are_read_like_files(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {"id": ["a", "(blank)", "b"], "day": ["05.03.2024", "06.03.2024", "13.03.2024"]}
        | {"sum": ["12,50", "1,00", "1 234,50"]}
    )
    with pytest.warns(UserWarning, match="the frame: left out 1 rows"):
        tx = read_transactions(
            frame, customer_col="id", date_col="day", amount_col="sum", decimal_comma=True
        )
    assert tx["amount"].to_list() == [12.5, 1234.5]
    assert tx["date"].to_list() == [dt.date(2024, 3, 5), dt.date(2024, 3, 13)]
    with pytest.raises(
        Exception,
        match=r"^the frame: no column 'customer_id' .* \(closest: 'day': date_col='day'\)",
    ):
        read_transactions(pl.from_pandas(frame))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1 234,50", 1234.5), ("1\u00a0234,50", 1234.5), ("1.234,50", 1234.5), ("12,5", 12.5)],
)
def test_decimal_comma_numbers(tmp_path, text, expected):
    path = tmp_path / "tx.csv"
    path.write_text(f"customer_id;date;amount\nA;2024-01-02;{text} €\n", encoding="utf-8")
    with pytest.warns(ClvInfo, match="every value carries '€'; stripped"):
        tx = read_transactions(path, separator=";", decimal_comma=True)
    assert tx["amount"].to_list() == [float(Decimal(expected))]


def test_cli_kpis_from_the_uci_export_with_column_options(rows, tmp_path, capsys):
    path, options = uci_csv(tmp_path / "uci.csv", rows)
    flags = [a for k, v in options.items() for a in ("--" + k.replace("_", "-"), v)]
    out = tmp_path / "kpis.json"
    code = main(
        [
            "kpis",
            str(path),
            *flags,
            "--observation-end",
            END,
            "--penalizer",
            "0.001",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "clv kpis: info: " in err and "'(blank)' 25; pass --keep-placeholder-ids" in err


def test_public_names():
    import clv

    assert clv.load_transactions is load_transactions
    assert clv.datasets.cdnow is not None and clv.plots is not None and clv.models is not None


def test_customer_0_with_one_order_is_a_customer(tmp_path):
    """lifetimes' own example data has a customer 0 with one purchase: kept, no warning."""
    path = tmp_path / "tx.csv"
    rows = [f"{i},2024-01-{1 + i % 28:02d},{10 + i}" for i in range(40)]  # ids 0 .. 39
    rows += ["-1,2024-02-01,7", "-1,2024-02-09,8"]
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no placeholder warning
        loaded = load_transactions(path)
    assert loaded.quality.placeholder_ids == {}
    ids = loaded.transactions["customer_id"].to_list()
    assert ids.count("0") == 1 and ids.count("-1") == 2


@pytest.mark.parametrize("placeholder", ["0", "-1", " 0"])
def test_0_and_minus_1_holding_an_implausible_share_of_orders_are_placeholders(
    tmp_path, placeholder
):
    """As a point-of-sale export writes every walk-in sale: one id with 1 % of all orders
    and over 50x the median customer's (the house-account rule) is no customer."""
    rows = [f"c{i},2024-01-0{1 + i % 5},1" for i in range(200)]
    rows += [f"{placeholder},2024-{m:02d}-{d:02d},1" for m in range(1, 13) for d in range(1, 28)]
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    with pytest.warns(
        UserWarning, match=rf"left out 324 rows .*placeholder: '{placeholder.strip()}'"
    ):
        loaded = load_transactions(path)
    assert loaded.quality.placeholder_ids == {placeholder.strip(): 324}
    assert loaded.transactions["customer_id"].n_unique() == 200
    kept = load_transactions(path, keep_placeholder_ids=True).transactions
    assert kept.height == 524
