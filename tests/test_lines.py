"""Errors name a file's lines as ``grep -n`` counts them (clv.data.lines): blank lines, values
with line breaks inside quotes, CRLF endings, other encodings; frames keep ``row N``."""

import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clv.data.io import read_channel_costs, read_transactions
from clv.errors import DataError

HEADER = "customer_id,date,note,amount\n"


def grep_n(path: Path, token: str, encoding: str = "utf-8") -> list[int]:
    """The lines ``grep -n token path`` prints (lines split at ``\\n``)."""
    lines = path.read_bytes().decode(encoding).split("\n")
    return [n for n, line in enumerate(lines, start=1) if token in line]


def named_line(error: DataError) -> int:
    found = re.search(r"\bline (\d+)\b", str(error))
    assert found, str(error)
    return int(found[1])


LAYOUTS = {
    "plain": HEADER + "c1,2024-01-05,a,10\nc2,2024-01-06,b,five\n",
    "blank lines": HEADER + "c1,2024-01-05,a,10\n\n\nc2,2024-01-06,b,five\n",
    "a note over lines before": HEADER + 'c1,2024-01-05,"two\nlines",10\nc2,2024-01-06,b,five\n',
    "a note over lines in the same record": HEADER
    + 'c1,2024-01-05,a,10\nc2,2024-01-06,"three\nlong\nlines",five\n',
    "crlf": (HEADER + 'c1,2024-01-05,"x\r\ny",10\r\n\r\nc2,2024-01-06,b,five\r\n').replace(
        "note,amount\n", "note,amount\r\n"
    ),
    "bom": "\ufeff" + HEADER + "c1,2024-01-05,a,10\nc2,2024-01-06,b,five\n",
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_bad_value_is_named_by_the_line_grep_finds_it_on(layout, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(LAYOUTS[layout].encode("utf-8"))
    with pytest.raises(DataError, match="column 'amount'") as error:
        read_transactions(path, order_col=None)
    (line,) = grep_n(path, "five")
    assert named_line(error.value) == line


def test_a_cp1250_file_and_a_semicolon(tmp_path):
    path = tmp_path / "kassa.csv"
    text = "Kund;Datum;Belopp\nŁukasz;2024-01-05;12,50\n\nŻaneta;2024-01-06;x7\n"
    path.write_bytes(text.encode("cp1250"))
    with pytest.raises(DataError, match="column 'Belopp'") as error:
        read_transactions(
            path,
            customer_col="Kund",
            date_col="Datum",
            amount_col="Belopp",
            separator=";",
            decimal_comma=True,
            encoding="cp1250",
        )
    assert named_line(error.value) == grep_n(path, "x7", "cp1250")[0] == 4


@given(
    before=st.lists(
        st.sampled_from(["plain", "blank", "note over lines", "crlf note"]), max_size=12
    ),
    column=st.sampled_from(["date", "amount"]),
)
def test_any_layout_before_the_bad_value_counts_as_grep_counts(tmp_path_factory, before, column):
    """Records of every kind before the bad one: the line named is grep's."""
    rows = []
    for i, kind in enumerate(before):
        note = {"note over lines": '"a\nb"', "crlf note": '"a\r\nb"'}.get(kind, "n")
        rows.append("" if kind == "blank" else f"c{i},2024-01-{i % 28 + 1:02d},{note},5")
    bad = "c99,2024-02-01,n,BAD" if column == "amount" else "c99,BAD,n,5"
    path = tmp_path_factory.mktemp("lines") / "orders.csv"
    path.write_text(HEADER + "\n".join([*rows, bad]) + "\n", encoding="utf-8", newline="")
    with pytest.raises(DataError, match=f"column '{column}'") as error:
        read_transactions(path)
    assert named_line(error.value) == grep_n(path, "BAD")[0]


def test_a_record_with_more_fields_names_its_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("customer_id,date,amount\nc1,2024-01-05,10\nc2,2024-01-06,7,50\n")
    with pytest.raises(DataError, match="has 4 fields") as error:
        read_transactions(path)
    assert named_line(error.value) == grep_n(path, "7,50")[0] == 3


def test_a_record_with_more_fields_beside_an_unused_column_is_an_error(tmp_path):
    """polars reads only the mapped fields of a line unless every column is parsed: a line
    with a fifth field beside the unused ``note`` would silently read ``7`` for ``7,50``."""
    path = tmp_path / "ragged.csv"
    path.write_text(HEADER + "c1,2024-01-05,a,10\nc2,2024-01-06,b,7,50\nc1,2024-02-05,a,12\n")
    with pytest.raises(DataError, match="has 5 fields but the header has 4") as error:
        read_transactions(path)
    assert named_line(error.value) == grep_n(path, "7,50")[0] == 3
    path.write_text(HEADER + "c1,2024-01-05,a,10\nc2,2024-01-06,,7\n\nc1,2024-02-05,a,12\n")
    assert read_transactions(path)["amount"].to_list() == [10.0, 7.0, 12.0]  # blanks, empty note


def test_bytes_that_are_not_utf8_name_their_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "c1,2024-01-05,a,10\n\nZoë,2024-01-06,b,5\n").encode("latin-1"))
    with pytest.raises(DataError, match="is not UTF-8 text") as error:
        read_transactions(path)
    assert named_line(error.value) == grep_n(path, "Zo", "latin-1")[0] == 4


def test_an_ndjson_line_is_its_line_blank_lines_too(tmp_path):
    path = tmp_path / "orders.ndjson"
    path.write_text(
        '{"customer_id": "c1", "date": "2024-01-05", "amount": 10}\n\n'
        '{"customer_id": "c2", "date": "2024-01-06", "amount": "five"}\n'
    )
    with pytest.raises(DataError, match="column 'amount'") as error:
        read_transactions(path)
    assert named_line(error.value) == grep_n(path, "five")[0] == 3


def test_a_channel_cost_names_its_line(tmp_path):
    path = tmp_path / "costs.csv"
    path.write_text("channel,cost\nsearch,12\n\nsocial,lots\n")  # a blank line is skipped
    with pytest.raises(DataError, match="column 'cost'") as error:
        read_channel_costs(path)
    assert named_line(error.value) == grep_n(path, "lots")[0] == 4


def test_a_frame_names_its_row_counted_from_1():
    frame = pl.DataFrame(
        {"customer_id": ["a", "b", "c"], "date": ["2024-01-01"] * 3, "amount": ["1", "2", "x"]}
    )
    with pytest.raises(DataError, match=r"column 'amount', row 3: 'x'"):
        read_transactions(frame)
