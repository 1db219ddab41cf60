"""What a report shows: escaped, id-masked tables; headings and numbers as report text."""

import polars as pl

from clv.report import render
from tests.conftest import MALICIOUS_CHANNEL


def test_table_html_escapes_and_masks() -> None:
    frame = pl.DataFrame({"customer_id": ["0001"], "channel": [MALICIOUS_CHANNEL]})
    html = render.table_html(frame, id_salt="s")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "0001" not in html and render.mask_ids(["0001"], "s")[0] in html


def test_mask_ids_is_a_salted_sha256() -> None:
    import hashlib

    expected = "c-" + hashlib.sha256(b"s" + b"0001").hexdigest()[:10]
    assert render.mask_ids(["0001", None], "s").to_list() == [expected, None]
    assert render.mask_ids(["0001"], "t")[0] != expected


def test_headings_skip_code_fences() -> None:
    text = "## 1. Headline\n```\n# not a heading\n```\n### Detail ###\n#\n"
    assert render.headings(text) == [(2, "1. Headline"), (3, "Detail")]


def test_numbers_as_report_text() -> None:
    assert render.format_number(0.1234, "{:.1%}") == "12.3%"
    assert render.format_number(float("nan"), "{:,.0f}") == "-"
    assert render.format_number(True, "{:,.0f}") == "-"
    assert render.value_text(1234567) == "1,234,567"
    assert render.value_text(2.5) == "2.500" and render.value_text(1234.5) == "1,234.50"
    assert render.value_text(None) == "none"
    assert render.value_text("/abs/path/shop.csv") == "shop.csv"
