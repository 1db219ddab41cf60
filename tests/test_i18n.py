"""The report in its reader's language: the catalogs are complete and current, plural forms
and placeholders are right, numbers, money and dates follow the locale (as Babel writes them),
figures draw every letter, and a report in each language has no English sentence left."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import warnings
from pathlib import Path

import matplotlib
import polars as pl
import pytest
from babel import Locale, numbers
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from clv import params
from clv.errors import UsageError
from clv.report import captions, first_page, sections
from clv.report.figure_locale import figure_text, localize_figure
from clv.report.i18n import LANGUAGES, catalog_path, report_locale, translate_markdown

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = ("sv", "pl", "uk", "fi")
PLACEHOLDER = r"\{\w*(?::[^{}]*)?\}|%\(\w+\)s"
"""A message's fields with their format spec (``{share:.0%}``: a translation keeps both)."""


def _catalog(language: str):
    with catalog_path(language).open("rb") as f:
        return read_po(f, locale=language)


def _ids(message_id) -> tuple[str, ...]:
    return (message_id,) if isinstance(message_id, str) else tuple(message_id)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages ``make messages`` extracts today (pybabel extract, in this process)."""
    pot = tmp_path_factory.mktemp("pot") / "clv.pot"
    keywords = [a for k in ("set_title", "set_xlabel", "set_ylabel", "N_") for a in ("-k", k)]
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            *keywords,
            "--no-location",
            "-o",
            str(pot),
            str(ROOT),
        ]
    )
    with pot.open("rb") as f:
        return {_ids(m.id)[0]: m for m in read_po(f) if m.id}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_the_catalog_is_current(language, extracted) -> None:
    catalog = _catalog(language)
    messages = {_ids(m.id)[0]: m for m in catalog if m.id}
    assert set(messages) == set(extracted), "run `make messages` and translate the new ones"
    for key, m in messages.items():
        strings = _ids(m.string)
        assert not m.fuzzy, key
        assert len(strings) == (catalog.num_plurals if m.pluralizable else 1), key
        assert all(s.strip() for s in strings), f"{language}: {key!r} is not translated"
        names = set(re.findall(PLACEHOLDER, " ".join(_ids(m.id))))
        for s in strings:
            found = set(re.findall(PLACEHOLDER, s))
            assert found <= names, f"{language}: {key!r} has unknown placeholders {found - names}"


def test_plural_forms_follow_each_language() -> None:
    nplurals = {lang: _catalog(lang).num_plurals for lang in TRANSLATED}
    assert nplurals == {"sv": 2, "pl": 3, "uk": 3, "fi": 2}
    forms = {
        lang: [
            report_locale(lang).ngettext("{n} month", "{n} months", n).format(n=n)
            for n in (1, 2, 5, 22, 112)
        ]
        for lang in LANGUAGES
    }
    assert forms["pl"] == ["1 miesiąc", "2 miesiące", "5 miesięcy", "22 miesiące", "112 miesięcy"]
    assert forms["uk"] == ["1 місяць", "2 місяці", "5 місяців", "22 місяці", "112 місяців"]
    assert forms["sv"] == ["1 månad", "2 månader", "5 månader", "22 månader", "112 månader"]
    assert forms["fi"] == [
        "1 kuukausi",
        "2 kuukautta",
        "5 kuukautta",
        "22 kuukautta",
        "112 kuukautta",
    ]
    assert forms["en"][:2] == ["1 month", "2 months"]


@pytest.mark.parametrize(
    ("language", "given", "code"),
    [
        ("sv", "kr", "SEK"),
        ("pl", "zł", "PLN"),
        ("uk", "₴", "UAH"),
        ("fi", "€", "EUR"),
        ("en", "£", "GBP"),
        ("sv", "EUR", "EUR"),
        ("pl", "usd", "USD"),
    ],
)
def test_money_in_the_locales_format(language, given, code) -> None:
    locale = report_locale(language)
    babel_locale = Locale.parse(LANGUAGES[language])
    assert locale.currency_code(given) == code
    group = numbers.get_group_symbol(babel_locale)
    decimal = numbers.get_decimal_symbol(babel_locale)
    symbol = numbers.get_currency_symbol(code, babel_locale)
    small = locale.money(12.3456, given)
    big = locale.money(1234567.891, given)
    assert f"12{decimal}35" in small and symbol in small
    assert f"1{group}234{group}568" in big and decimal not in big.replace(symbol, "")
    assert big == numbers.format_currency(
        1234568,
        code,
        format=babel_locale.currency_formats["standard"].pattern.replace(".00", ""),
        locale=babel_locale,
        currency_digits=False,
    )
    if language != "en":  # "1 234,50 kr": the symbol after the number, as these locales write it
        assert big.endswith(symbol) and big[0].isdigit()


def test_other_currency_text_is_shown_as_given_and_numbers_follow_the_locale() -> None:
    sv, en, fi = report_locale("sv"), report_locale("en"), report_locale("fi")
    assert sv.currency_code("kr.") is None and "kr." in sv.money(10.0, "kr.")
    assert sv.money(1234.6) == numbers.format_decimal(1235, locale="sv_SE")
    assert en.number(1234.5) == "1,234.50"
    group = numbers.get_group_symbol("fi_FI")
    assert fi.number(1234.5) == f"1{group}234,50" and group in ("\xa0", "\u202f")
    assert en.percent(0.253, 1) == "25.3%"
    assert sv.percent(0.253, 1) == numbers.format_percent(0.253, "#,##0.0\xa0%", locale="sv_SE")
    day = dt.date(2024, 3, 5)
    assert sv.date(day) == "5 mars 2024" and fi.date(day) == "5.3.2024"
    assert report_locale("uk").month(day).startswith("бер")


def test_an_unknown_language_is_one_usage_error_naming_the_five() -> None:
    for call in (lambda: params.validate({"language": "de"}), lambda: report_locale("de")):
        with pytest.raises(UsageError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and "de" in message
        assert all(lang in message for lang in LANGUAGES)
    assert params.validate({"language": "uk"}) == {"language": "uk"}
    assert params.SPEC["language"].notebooks == frozenset(params.NOTEBOOKS)


def test_clv_report_names_the_five_languages_in_one_line(capsys, tmp_path) -> None:
    from clv.cli import main

    assert main(["report", "--language", "de", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and all(lang in err for lang in LANGUAGES), err
    # no run folder: only the runs folder's record of the failed check (history, index)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.jsonl", "index.html"]
    assert "language" in (tmp_path / "history.jsonl").read_text()


@pytest.fixture(scope="module")
def pln_shop(tmp_path_factory):
    import clv
    from clv.data.datasets import synthetic_shop

    path = tmp_path_factory.mktemp("pln") / "shop.csv"
    synthetic_shop(800, seed=3)[0].write_csv(path)
    columns = {"order_col": "order_id", "channel_col": "channel", "loyalty_col": "loyalty"}
    return clv.analyze(path, **columns, margin=0.3, currency="PLN")


def test_sentences_are_built_in_the_language(pln_shop) -> None:
    """The first page's records in Polish: the same ids and numbers as in English, each
    sentence the catalog's template filled in the locale's form (findings.json carries it)."""
    pl_ = report_locale("pl")
    english = first_page.records(pln_shop.findings)
    polish = first_page.records(pln_shop.findings, locale=pl_)
    assert [r["id"] for r in polish] == [r["id"] for r in english]
    assert [r["numbers"] for r in polish] == [r["numbers"] for r in english]
    assert [r["topic"] for r in polish] == [r["topic"] for r in english]  # English keys
    page = {r["id"]: r["text"] for r in polish}
    assert all(page[r["id"]] != r["text"] for r in english)
    assert page["money_margin_rate"].startswith("Wszystkie wartości to marża (30% przychodu")
    assert page["money_margin_rate"].endswith("horyzont 12 miesięcy.")
    returning = pln_shop.findings["returning"]
    key = next(r["id"] for r in english if r["id"].startswith("returning_"))
    assert pl_.money(returning["aov_returning"], "PLN") in page[key]
    top = pln_shop.findings["top"]
    assert (
        f"{pl_.integer(top['customers'])} z {pl_.integer(top['of'])} klientów"
        in (page["top_customers"])
    )
    html_page = first_page.first_page_html(polish, locale=pl_)
    assert "Najlepsi klienci" in html_page and "Top customers" not in html_page
    cards = sections.headline_cards(
        {"customers": 12345, "repeat_customer_rate": 0.25}, money=_money(), locale=pl_
    )
    # 12 345 ends in 5: the genitive plural, as a Polish count is written
    assert cards == {
        "klientów łącznie": pl_.integer(12345),
        "odsetek powracających klientów": "25,0%",
    }
    counts = pl.DataFrame({"observed": [50.0, 30, 20], "expected": [49.0, 31, 20]})
    assert captions.period_transactions(counts, locale=report_locale("fi")).startswith(
        "Malli toistaa ostomäärät: 1,0"
    )


def _money():
    from clv.analysis.money import Money

    return Money("revenue", 1.0, False, "PLN", 0.1, 12.0, "M")


def test_markdown_and_figure_texts_are_translated() -> None:
    sv = report_locale("sv")
    assert translate_markdown("## 11. Channels\n\nignored?", sv).startswith("## 11. Kanaler\n\n")
    assert figure_text("revenue (kr)", sv) == "intäkt (kr)"
    assert figure_text("median 1,234", sv) == f"median {sv.number(1234, 0)}"
    assert figure_text("predicted CLV over 12 months (kr); top 1 % not shown", sv) == (
        "förväntat CLV under 12 månader (kr); översta 1\u00a0% visas inte"
    )


@pytest.mark.parametrize("language", ["uk", "pl"])
def test_figures_draw_every_letter(language) -> None:
    import matplotlib.pyplot as plt

    from clv import plots

    monthly = pl.DataFrame(
        {
            "month": [dt.date(2024, m, 1) for m in range(1, 7)],
            "new_revenue": [1000.0, 1200, 900, 1500, 1300, 1700],
            "returning_revenue": [2000.0, 2100, 2500, 2300, 2800, 3100],
        }
    )
    ax = plots.revenue_by_month(monthly, currency=report_locale(language).currency_symbol("UAH"))
    fig = ax.get_figure(root=True)
    localize_figure(fig, report_locale(language))
    _ = report_locale(language).gettext
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert ax.get_title() == _("Revenue by month") != "Revenue by month"
    assert ax.get_ylabel() == f"{_('revenue')} ({report_locale(language).currency_symbol('UAH')})"
    assert legend == [_("first orders"), _("returning orders")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any(numbers.get_group_symbol(LANGUAGES[language]) in t for t in ticks), ticks
    plt.close(fig)


# --------------------------------------------------------------------------- whole reports


RUNS = [
    ("sv", "customer_value", None, {"currency": "kr"}),
    ("sv", "loyalty_review", "shop", {"currency": "SEK", "cost_per_reward": 2.0}),
    ("pl", "customer_value", "shop", {"currency": "zł", "margin": 0.3}),
    ("pl", "loyalty_review", "shop", {"currency": "PLN", "cost_per_reward": 5.0}),
    ("uk", "customer_value", "shop", {"currency": "UAH"}),
    ("uk", "loyalty_review", "shop", {"currency": "₴", "member_discount_rate": 0.05}),
    ("fi", "customer_value", None, {"currency": "EUR", "margin": 0.3}),
    ("fi", "loyalty_review", "shop", {"currency": "€", "member_discount_rate": 0.02}),
]
"""Both notebooks in each language, on the embedded demo and on a shop with channels and
loyalty (English: ``test_report.py``)."""


def _english_probes(language: str) -> list[str]:
    """Fragments of the English messages (3 words or more between placeholders and tags, two
    of them English words, not names such as ``Gamma-Gamma q =``) whose translation differs:
    none of them may appear in a report in ``language``."""
    probes = set()
    for m in _catalog(language):
        if not m.id or _ids(m.id)[0] in _ids(m.string):
            continue
        for text in _ids(m.id):
            for part in re.split(r"\{\w*\}|%\(\w+\)s|<[^>]+>", text):
                part = part.strip(" ;:,.()")
                words = re.findall(r"\b[a-z]{3,}\b", part)
                if len(part.split()) >= 3 and len(words) >= 2:
                    probes.add(part)
    return sorted(probes)


def _visible_text(report: str) -> str:
    body = re.sub(r"<(style|title)[^>]*>.*?</\1>|<img[^>]*>", " ", report, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.slow
@pytest.mark.parametrize(("language", "notebook", "data", "options"), RUNS)
def test_a_report_in_each_language(language, notebook, data, options, tmp_path) -> None:
    from clv.data.datasets import synthetic_shop
    from clv.report.runner import run_report

    path = None
    if data == "shop":
        path = tmp_path / "shop.csv"
        synthetic_shop(800, seed=3)[0].write_csv(path)
        options = {**options, "channel_col": "channel", "loyalty_col": "loyalty"}
    folder = run_report(
        path,
        notebook=notebook,
        parameters={**options, "language": language},
        out_dir=tmp_path / "out",
        progress=False,
    )
    report = (folder / f"{notebook}.html").read_text(encoding="utf-8")
    assert f'<html lang="{language}">' in report
    text = _visible_text(report)
    left = [p for p in _english_probes(language) if p in text]
    assert not left, f"English left in the {language} report: {left[:5]}"
    body = text.split(report_locale(language).gettext("Parameters"))[0]  # names from here on
    words = [w for w in _english_words(language) if re.search(rf"\b{w}\b", body)]
    assert not words, f"English words left in the {language} report: {words[:10]}"
    locale = report_locale(language)
    kpis = json.loads((folder / "kpis.json").read_text())
    assert "repeat_customer_rate" in kpis  # machine files keep English keys
    symbol = locale.currency_symbol(options["currency"])
    group = numbers.get_group_symbol(LANGUAGES[language])
    if notebook == "customer_value":
        assert locale.integer(kpis["customers"]) in text
        assert locale.money(kpis["revenue"], options["currency"]) in text
    assert re.search(rf"\d{group}\d{{3}}\xa0{re.escape(symbol)}", text)  # 1 234 zł
    assert re.search(rf"\d{group}\d{{3}},\d\d", text)  # 1 234,50: group and decimal symbols
    assert not re.search(r"\d,\d{3}\.\d\d", text)  # no 1,234.50 left


# --------------------------------------------------------------------------- the analysis' notes


@pytest.fixture(scope="module")
def model_diagnostics() -> list[dict]:
    """One diagnostic of every code the models write, with its values (a fit at a boundary,
    Gamma-Gamma's warnings, no dropout, the limits, the purchase model's fallbacks)."""
    import numpy as np

    from clv.models.diagnostics import (
        auto_fallback_diagnostic,
        auto_no_holdout_diagnostic,
        dropout_diagnostic,
        fit_diagnostics,
        full_fit_failed_diagnostic,
        gamma_gamma_diagnostics,
        limit_diagnostics,
    )
    from clv.models.optimize import Fit

    fit = Fit(
        np.array([3.91e5, 0.000193, 2.5]),
        np.array([np.nan, np.nan, 7.1]),
        -1.0,
        0.0,
        "",
        np.array([True, True, False]),
    )
    items = fit_diagnostics("Gamma-Gamma", ("p", "q", "v"), fit)
    items += gamma_gamma_diagnostics(1.24, -0.45, 1, 3) + gamma_gamma_diagnostics(1.5, 0.5, 40, 1)
    items += dropout_diagnostic("bgnbd", {"a": 1e-6, "b": 10.0}, 50.0)
    items += limit_diagnostics("poisson_no_dropout", "equal_spend", "BG/NBD")
    items += limit_diagnostics(None, "steady_spend", "BG/NBD")
    items += full_fit_failed_diagnostic("Pareto/NBD", "no_dropout", "no optimum; x", ["BG/NBD"])
    items += full_fit_failed_diagnostic("BG/NBD", "poisson", "no optimum", [])
    items += auto_fallback_diagnostic("too few holdout purchases.") + auto_no_holdout_diagnostic()
    return items


def test_every_model_diagnostic_is_written_from_its_code_and_values(model_diagnostics) -> None:
    """The Model health box: each code has its message, the values go in in the locale's
    form; English keeps the model's own message. No English text is read back."""
    from clv.models import diagnostics
    from clv.report.notes import DIAGNOSTICS, diagnostic_text

    codes = set(re.findall(r"``(\w+)``", (diagnostics.__doc__ or "").split("Messages")[0]))
    codes.add("pooled_group")
    assert codes == set(DIAGNOSTICS)
    assert {d["code"] for d in model_diagnostics} == codes - {"pooled_group"}
    for item in model_diagnostics:
        assert diagnostic_text(item) == item["message"]
    fi = report_locale("fi")
    boundary = diagnostic_text(model_diagnostics[0], locale=fi)
    assert boundary.startswith("Gamma-Gamma p = 3,91e+05 on sen rajalla"), boundary
    assert "kohti ääretöntä" in boundary
    assert "0,000193" in diagnostic_text(model_diagnostics[1], locale=fi)
    few = [d for d in model_diagnostics if d["code"] == "few_repeat_buyers"]
    assert diagnostic_text(few[0], locale=report_locale("pl")).startswith("tylko 1 klient kupił")
    assert diagnostic_text(few[1], locale=report_locale("pl")).startswith("tylko 40 klientów")
    # a group's diagnostic starts with the group, in the language
    grouped = {**few[1], "values": {**few[1]["values"], "by": "channel", "group": "search"}}
    assert diagnostic_text(grouped, locale=report_locale("sv")).startswith("kanal search: bara 40")
    # a model file of clv 0.1 (code "warning", no values) shows its message as it is
    assert diagnostic_text({"code": "warning", "message": "old"}, locale=fi) == "old"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_model_and_analysis_notes_are_in_the_language(language, model_diagnostics) -> None:
    from clv.report.notes import LACKS, diagnostic_text, lacks_text, left_out_notes

    locale = report_locale(language)
    probes = [*_english_probes(language), "of the rest", "top customers", "the data"]
    texts = [diagnostic_text(d, locale=locale) for d in model_diagnostics]
    texts.append(diagnostic_text({"code": "pooled_group", "values": {}}, locale=locale))
    texts += left_out_notes({}, locale=locale) + left_out_notes({"loyalty": {}}, locale=locale)
    texts.append(lacks_text(list(LACKS), aov=1234.4, good_aov=56.0, locale=locale))
    for text in texts:
        english = [p for p in probes if p in text]
        assert not english, (text, english)
        assert not re.search(r"\d,\d{3}(?!\d)|\d\.\d", text), text  # the locale's numbers
    assert locale.integer(1234) in texts[-1] and "56" in texts[-1]


def test_what_the_middle_tier_lacks_comes_as_codes_and_numbers(pln_shop) -> None:
    """The analysis gives codes and the good tier's order value; the report words them."""
    from clv.analysis.profile import LACKS
    from clv.report.notes import middle_to_top_table

    table = pln_shop.middle_to_top
    assert table["lacks"].dtype == pl.List(pl.String)
    assert set(table["lacks"].explode().drop_nulls()) <= set(LACKS)
    assert {w for w, _ in pln_shop.findings["middle"]["lacks"]} <= set(LACKS)
    uk = report_locale("uk")
    shown = middle_to_top_table(table.head(30), locale=uk)
    assert "good_aov" not in shown.columns and shown["lacks"].dtype == pl.String
    for row, words in zip(table.head(30).iter_rows(named=True), shown["lacks"], strict=True):
        if "higher_aov" in row["lacks"]:
            assert uk.integer(round(row["good_aov"])) in words
        assert not re.search(r"[a-z]{3,}", words), words


@pytest.mark.slow
@pytest.mark.parametrize("language", TRANSLATED)
def test_what_sets_top_customers_apart_is_written_from_its_message(language) -> None:
    """The top-profile table's notes come from the first page's templates (difference_*),
    in the language and its number form; English keeps the same sentences."""
    import clv

    transactions = clv.datasets.synthetic_shop(1_500, seed=4)[0]
    profile = clv.analyze(transactions, channel_col="channel", loyalty_col="loyalty").top_profile
    locale = report_locale(language)
    table = sections.top_profile_table(profile, locale=locale)
    assert "kind" not in table.columns and table.height == profile.height
    english = sections.top_profile_table(profile)["note"].to_list()
    for note, en in zip(table["note"], english, strict=True):
        probes = [p for p in [*_english_probes(language), "of the rest", "top customers"]]
        assert note != en and not [p for p in probes if p in note], (en, note)
        assert not re.search(r"\d,\d{3}(?!\d)|\d\.\d", note), note


def test_the_runs_index_speaks_the_newest_runs_language(tmp_path) -> None:
    from clv.report.index import write_index

    def run(name: str, started: str, language: str | None) -> None:
        folder = tmp_path / name
        folder.mkdir()
        doc = {
            "run": name,
            "notebook": "customer_value",
            "status": "failed",
            "started_at": started,
            "input": {"name": "shop.csv"},
            "headline": {"customers": 12345, "repeat_customer_rate": 0.4567},
            "parameters": {"language": language} if language else {},
        }
        (folder / "manifest.json").write_text(json.dumps(doc))

    run("a", "2026-01-01T00:00:00Z", None)
    run("b", "2026-01-02T00:00:00Z", "uk")
    page = write_index(tmp_path).read_text(encoding="utf-8")
    uk = report_locale("uk")
    assert '<html lang="uk">' in page and "<h1>запуски звітів clv</h1>" in page
    assert "2 запуски, спершу найновіші" in page  # the plural form of 2 in Ukrainian
    assert "Кожна тека містить" in page and "Each folder" not in page
    assert page.count(f">{uk.gettext('failed')}</td>") == 2
    assert page.count(f">{uk.integer(12345)}<") == 2 and f">{uk.percent(0.4567, 1)}<" in page
    run("c", "2026-01-03T00:00:00Z", "en")
    english = write_index(tmp_path).read_text(encoding="utf-8")
    assert '<html lang="en">' in english and "3 runs, newest first" in english
    assert ">12,345<" in english and ">45.7%<" in english


def test_the_run_time_in_the_locales_form() -> None:
    from babel.dates import format_datetime

    moment = dt.datetime(2026, 12, 7, 2, 26, 10, tzinfo=dt.UTC)
    for language, code in LANGUAGES.items():
        text = report_locale(language).timestamp("2026-12-07T02:26:10Z")
        assert text == format_datetime(moment, "medium", tzinfo=dt.UTC, locale=code)
    assert report_locale("fi").timestamp("2026-12-07T02:26:10Z").startswith("7.12.2026")
    assert report_locale("sv").timestamp("not a time") == "not a time"


# ---------------------------------------------------------------------- tables and figures


def _english_words(language: str) -> set[str]:
    """The English report's words (6 letters or more, in the catalog's msgids) that no
    translation of ``language`` uses: none may be left in a table, a figure or a report."""
    catalog = list(_catalog(language))
    english = {w for m in catalog if m.id for t in _ids(m.id) for w in re.findall(r"[a-z]{6,}", t)}
    local = {w for m in catalog if m.id for t in _ids(m.string) for w in re.findall(r"\w+", t)}
    return english - local - {w for c in LEFT_ENGLISH for w in re.findall(r"[a-z]{6,}", c)}


LEFT_ENGLISH = (
    "Counting your customers the easy way: an alternative to the Pareto/NBD model",
    "Empirical validation and comparison of models for customer base analysis",
    "International Journal of Research in Marketing",
    "Counting your customers: who are they and what will they do next?",
    "Management Science",
    "RFM and CLV: using iso-value curves for customer base analysis",
    "Journal of Marketing Research, Marketing Science",
    "scores.parquet at_risk.csv customer_ref channel_costs channel_col loyalty_col",
    "purchase_model gg_penalizer member_discount_rate cost_per_reward synthetic_shop",
)
"""Names a translated report keeps: the papers' titles, files, parameters."""


@pytest.mark.parametrize("language", TRANSLATED)
def test_tables_show_shares_as_percentages_and_rfm_columns_in_words(language) -> None:
    from clv.report.html_table import table_html

    locale = report_locale(language)
    rows = pl.DataFrame(
        {
            "metric": ["repeat customer rate", "annual retention", "orders"],
            "value": [0.483, 0.2, 6.0],
        }
    )
    text = _visible_text(table_html(rows, locale=locale))
    assert locale.percent(0.483, 1) in text and locale.percent(0.2, 1) in text
    assert "0,483" not in text and locale.number(6.0) in text
    rfm = pl.DataFrame(
        {"column": ["frequency", "recency", "T", "monetary_value"], "mean": [1.0] * 4}
    )
    text = _visible_text(table_html(rfm, locale=locale))
    assert not [w for w in ("frequency", "recency", "monetary_value") if w in text], text
    assert not [w for w in _english_words(language) if re.search(rf"\b{w}\b", text)]


@pytest.mark.parametrize("language", TRANSLATED)
def test_parameter_names_are_written_as_typed_and_interval_headers_translated(language) -> None:
    from clv.report.html_table import table_html

    locale = report_locale(language)
    names = ["date_format", "currency", "retention_cost", "alpha"]
    frame = pl.DataFrame(
        {
            "parameter": [*names, "log-likelihood"],
            "value": ["%d.%m.%Y", "SEK", "12", "4.4", "-9582"],
        }
    )
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table_html(frame, locale=locale))
    assert cells[::2][:-1] == names  # never "datumformat" beside an English "synthetic customers"
    assert cells[-2] == html.escape(locale.gettext("log-likelihood"))  # a label, translated
    channels = pl.DataFrame({"channel": ["search"], "clv_cac_low": [1.5], "clv_cac_high": [2.5]})
    head = re.findall(r"<th[^>]*>([^<]*)</th>", table_html(channels, locale=locale))
    assert [locale.gettext(h) for h in ("CLV:CAC low", "CLV:CAC high")] == head[1:]
    assert not [h for h in head[1:] if h.endswith(("low", "high"))], head


@pytest.mark.parametrize("language", ["fi", "uk"])
def test_figures_carry_no_english_ticks_or_legends(language, pln_shop) -> None:
    import matplotlib.pyplot as plt

    from clv import plots
    from clv.analysis import tables

    locale = report_locale(language)
    _, _, shares = tables.tier_tables(pln_shop.segments, pln_shop.tiers)
    ax = plots.tier_shares(shares)
    fig = ax.get_figure(root=True)
    localize_figure(fig, locale)
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert (
        ticks == [locale.gettext(t) for t in ("good", "middle", "low")] != ["good", "middle", "low"]
    )
    drawn = " ".join(
        [*ticks, ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
        + [t.get_text() for t in [*ax.get_legend().get_texts(), *ax.texts]]
    )
    left = [w for w in _english_words(language) if re.search(rf"\b{w}\b", drawn)]
    assert not left and not re.search(r"\b(good|middle|low|customers|revenue)\b", drawn), drawn
    plt.close(fig)
