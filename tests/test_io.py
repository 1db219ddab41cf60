"""Loading transactions: types kept, formats equal, one-line errors naming file, column, row."""

import datetime as dt
import string

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clv.data.io import read_transactions
from clv.data.write import atomic_output, write_frame
from clv.errors import ClvError, DataError, UsageError

ROWS = "customer_id,date,amount\n"


def csv(tmp_path, text: str, name: str = "tx.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ids_kept_as_written_and_dates_with_times(tmp_path):
    path = csv(
        tmp_path,
        ROWS + "00123,2024-01-05,7.5\n00123,2024-01-05 13:45:00,2\n"
        "12345678901234567890,2024-02-01T10:00:00+02:00,3\n",
    )
    tx = read_transactions(path)
    assert tx.schema == pl.Schema({"customer_id": pl.String, "date": pl.Date, "amount": pl.Float64})
    assert tx["customer_id"].to_list() == ["00123", "00123", "12345678901234567890"]
    assert tx["date"].to_list() == [dt.date(2024, 1, 5), dt.date(2024, 1, 5), dt.date(2024, 2, 1)]


def test_mapping_optional_columns_and_formats(tmp_path):
    path = csv(
        tmp_path,
        "cust;day;value;ord;src;member\na;31/01/2024;10;o1;search;yes\nb;01/02/2024;5.5;o2;;0\n",
    )
    tx = read_transactions(
        path,
        customer_col="cust",
        date_col="day",
        amount_col="value",
        order_col="ord",
        channel_col="src",
        loyalty_col="member",
        date_format="%d/%m/%Y",
        separator=";",
    )
    assert tx.columns == ["customer_id", "date", "amount", "order_id", "channel", "loyalty"]
    assert tx["date"].to_list() == [dt.date(2024, 1, 31), dt.date(2024, 2, 1)]
    assert tx["loyalty"].to_list() == [True, False]
    assert tx["channel"].to_list() == ["search", "(none)"]


def test_csv_parquet_ndjson_identical(tmp_path):
    tx = pl.DataFrame(
        {
            "customer_id": ["007", "8"],
            "date": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)],
            "amount": [1.5, 2.0],
        }
    )
    tx.write_csv(tmp_path / "t.csv")
    tx.write_parquet(tmp_path / "t.parquet")
    tx.write_ndjson(tmp_path / "t.ndjson")
    for name in ["t.csv", "t.parquet", "t.ndjson"]:
        assert read_transactions(tmp_path / name).equals(tx), name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ROWS + "1,2024-01-01,7\n1,2024-01-02,$7.50\n",
            "column 'amount', line 3: '$7.50' is not a finite number",
        ),
        (ROWS + "1,2024-01-01,7\n2,2024-01-01,7,50\n", "line 3"),
        (ROWS + "1,2024-01-01,inf\n", "'inf' is not a finite number"),
        (
            ROWS + "1,2024-01-01,1\n1,01/02/2024,3\n",
            "column 'date', line 3: cannot read date '01/02/2024'",
        ),
        (ROWS + "1,2024-13-01,1\n", "cannot read date '2024-13-01'"),
        (ROWS + "1,2024-01-01,-3\n", 'negative_amounts="drop"'),
        (ROWS, "no transactions"),
        ("", "empty"),
        ("customer_id;date;amount\n1;2024-01-01;1\n", "pass separator=';'"),
        (
            "id,date,amount\n1,2024-01-01,1\n",
            "no column 'customer_id' (map yours with customer_col=); "
            "columns found: id, date, amount",
        ),
    ],
)
def test_bad_input_one_line_error(tmp_path, text, message):
    path = csv(tmp_path, text)
    with pytest.raises(DataError) as err:
        read_transactions(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_negative_amounts_drop_and_net(tmp_path):
    path = csv(tmp_path, ROWS + "1,2024-01-01,10\n1,2024-01-01,-4\n")
    with pytest.warns(UserWarning, match="1 negative amounts .refunds. left out"):
        assert read_transactions(path, negative_amounts="drop")["amount"].to_list() == [10.0]
    assert read_transactions(path, negative_amounts="net")["amount"].sum() == 6.0


def test_net_refunds_return_to_their_purchase(tmp_path):
    """A refund nets against its own order, else the latest earlier purchase day; none: dropped."""
    path = csv(
        tmp_path,
        "customer_id,date,amount,order_id\n"
        "A,2024-01-01,100,o1\nA,2024-02-01,50,o2\nA,2024-03-01,-50,r1\n"  # own id: latest day
        "B,2024-01-05,30,o3\nB,2024-01-20,-10,o3\n"  # refund line of order o3
        "C,2024-02-01,-5,x9\nC,2024-02-03,20,o9\n",  # refund before any purchase
    )
    with pytest.warns(UserWarning, match="1 refunds come before any purchase"):
        tx = read_transactions(path, order_col="order_id", negative_amounts="net")
    netted = (
        tx.group_by("customer_id", "order_id", "date")
        .agg(pl.col("amount").sum())
        .sort("customer_id", "order_id")
    )
    assert netted.rows() == [
        ("A", "o1", dt.date(2024, 1, 1), 100.0),
        ("A", "o2", dt.date(2024, 2, 1), 0.0),
        ("B", "o3", dt.date(2024, 1, 5), 20.0),
        ("C", "o9", dt.date(2024, 2, 3), 20.0),
    ]


def test_blank_order_id_is_an_error(tmp_path):
    path = csv(tmp_path, "customer_id,date,amount,order\n1,2024-01-01,3,o1\n1,2024-02-01,4,\n")
    with pytest.raises(DataError, match=r"column 'order', line 3: empty order id; .*order_col="):
        read_transactions(path, order_col="order")


def test_file_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_transactions(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_transactions(tmp_path)
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(UsageError, match="unknown file type"):
        read_transactions(tmp_path / "x.xlsx")
    (tmp_path / "bin.csv").write_bytes(b"customer_id,date,amount\n\xff\xfe\x00,2024-01-01,1\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_transactions(tmp_path / "bin.csv")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=string.printable + "é€\x00", max_size=200))
def test_random_text_loads_or_raises_clv_error(tmp_path, text):
    path = tmp_path / "fuzz.csv"
    path.write_text(ROWS + text)
    try:
        read_transactions(path)
    except ClvError as e:
        assert "\n" not in str(e)


def test_atomic_output_keeps_existing_and_cleans_up(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("mine")
    with pytest.raises(UsageError, match="--overwrite"):
        write_frame(pl.DataFrame({"a": [1]}), target)
    assert target.read_text() == "mine"
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "new.csv") as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    write_frame(pl.DataFrame({"a": [1]}), target, overwrite=True)
    assert target.read_text() == "a\n1\n"
