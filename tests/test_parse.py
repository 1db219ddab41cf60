"""Detecting date formats, decimal commas and currency signs; reading any encoding."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shop_exports import comma

from clv.data.io import load_transactions, read_transactions
from clv.data.parse import ISO, NumberFormat, detect_currency, detect_date_format, number_expr
from clv.errors import DataError


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2024-03-05", "2024-03-05T14:22:11Z", "2024-03-05 14:22 +0100"], ISO),
        (["2024-03-05T14:22:11+01:00", "2024-03-05T14:22:11.5+0100"], ISO),
        (["12/1/2010 8:26", "12/13/2010 9:01"], "%m/%d/%Y"),
        (["1/12/2010", "13/12/2010 08:26:03"], "%d/%m/%Y"),
        (["05.03.2024", "5.3.2024 10:00"], "%d.%m.%Y"),
        (["05-03-2024", "5-3-2024"], "%d-%m-%Y"),
        (["yesterday", "2024-01-01"], None),
        (["13/13/2024", "01/01/2024"], None),
    ],
)
def test_detect_date_format(values, expected):
    assert detect_date_format(values, "date", "f.csv") == expected


def test_all_fields_up_to_12_is_an_error_naming_both_formats():
    with pytest.raises(DataError, match=r'date_format="%d/%m/%Y" or date_format="%m/%d/%Y"'):
        detect_date_format(["01/02/2024", "12/11/2024"], "date", "f.csv")


def test_day_first_settled_by_a_row_after_the_sample(tmp_path):
    rows = "".join(f"c{i},0{1 + i % 9}/0{1 + i % 9}/2024,1\n" for i in range(12_000))
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n" + rows + "c1,13/01/2024,2\n")
    with pytest.warns(UserWarning, match="dates read as %d/%m/%Y"):
        loaded = load_transactions(path)
    assert loaded.quality.date_format == "%d/%m/%Y"
    assert loaded.transactions["date"][-1] == dt.date(2024, 1, 13)


def test_the_detected_format_says_time_of_day_was_dropped_only_when_there_was_one(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\nc1,13.01.2024,2\nc2,14.01.2024,3\n")
    with pytest.warns(UserWarning) as seen:
        load_transactions(path)
    (said,) = [str(w.message) for w in seen if "dates read as" in str(w.message)]
    assert said.endswith("dates read as %d.%m.%Y (detected)")
    path.write_text("customer_id,date,amount\nc1,13.01.2024 10:15,2\nc2,14.01.2024 09:00,3\n")
    with pytest.warns(UserWarning, match=r"%d.%m.%Y \(detected; time of day dropped\)"):
        load_transactions(path)


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False),
    st.sampled_from([" ", "\u00a0", "."]),
)
def test_decimal_comma_reads_what_python_decimal_writes(value, thousands):
    text = comma(abs(value), thousands)
    text = ("-" if value < 0 else "") + text
    got = pl.DataFrame({"a": [text]}).select(number_expr("a", pl.String, NumberFormat(True)))
    assert got.item() == float(value)


def test_a_decimal_point_is_not_read_with_decimal_comma():
    frame = pl.DataFrame({"a": ["12.50", "1,234.50", "1 2,5"]})
    assert frame.select(number_expr("a", pl.String, NumberFormat(True)))["a"].to_list() == [
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["12,50 kr", "1 234,50 kr"], "kr"),
        (["zł 3,00", "zł 4,00"], "zł"),
        (["€7.50", "€ 1"], "€"),
        (["7.50 EUR", "1 EUR"], "EUR"),
        (["$7.50", "7.50"], None),
        (["7.50 kr", "7.50 zł"], None),
        (["7.50", "8"], None),
    ],
)
def test_currency_stripped_only_when_every_value_carries_the_same(values, expected):
    assert detect_currency(values) == expected


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("\ufeffcustomer_id,date,amount\nÅsa,2024-01-01,3\n".encode(), "utf-8"),
        ("customer_id,date,amount\nÅsa,2024-01-01,3\n".encode("utf-16"), "utf-16"),
        ("customer_id,date,amount\nŁukasz,2024-01-01,3\n".encode("cp1250"), "cp1250"),
        ("customer_id,date,amount\nÅsa,2024-01-01,3\n".encode("cp1252"), "cp1252"),
        ("customer_id,date,amount\nŻak,2024-01-01,3\n".encode("iso-8859-2"), "iso-8859-2"),
        (b"customer_id,date,amount\rAsa,2024-01-01,3\r", "utf-8"),  # old Mac line endings
        (b'"customer_id","date","amount"\r\nAsa,2024-01-01,3\r\n\r\n\r\n', "utf-8"),
    ],
)
def test_encodings_line_endings_and_blank_lines(tmp_path, data, encoding):
    path = tmp_path / "tx.csv"
    path.write_bytes(data)
    tx = read_transactions(path, encoding=encoding)
    assert tx.height == 1 and tx["amount"].to_list() == [3.0]
    assert tx["customer_id"][0] in {"Åsa", "Łukasz", "Żak", "Asa"}


def test_unknown_encoding_is_a_usage_error(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-01,3\n")
    with pytest.raises(Exception, match="unknown encoding 'klingon'"):
        read_transactions(path, encoding="klingon")


def test_decimal_comma_total_is_exact(tmp_path):
    values = [Decimal("1234.50"), Decimal("0.10"), Decimal("0.20")]
    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id;date;amount\n"
        + "".join(f"A;2024-01-0{i + 1};{comma(v)}\n" for i, v in enumerate(values))
    )
    tx = read_transactions(path, separator=";", decimal_comma=True)
    assert tx["amount"].to_list() == [float(v) for v in values]
