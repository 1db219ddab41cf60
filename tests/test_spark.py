"""The Spark engine gives the one-machine numbers: summaries to 1e-9, parameters to 1e-6,
scores to 1e-9, the same one-line errors (Spark in local mode, one session for the file).

Needs pyspark (the ``spark`` extra) and Java 17+; ``.ci/run`` installs Java. Outside CI
(``CI`` unset) the tests skip when either is missing; in CI they fail.
"""

import datetime as dt
import json
import subprocess
import sys
import warnings
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import clv
from clv.cli import main
from clv.errors import DataError, UsageError
from clv.models.model import ClvModel
from tests.spark_checks import (
    Collected,
    analyze_keywords,
    assert_close,
    assert_same_numbers,
    both_engines,
    refuse_per_row,
)

pytestmark = pytest.mark.spark

SCORES = ("p_alive", "expected_purchases", "expected_order_value", "clv")


@pytest.fixture(scope="module")
def shop_csv(shop, tmp_path_factory) -> Path:
    """The 4,000-customer shop with string ids and times of day, as a CSV file."""
    tx = shop[0].select(
        "customer_id",
        (pl.col("date").cast(pl.Datetime) + pl.duration(hours=pl.int_range(pl.len()) % 24))
        .dt.strftime("%Y-%m-%d %H:%M:%S")
        .alias("date"),
        "amount",
        "order_id",
    )
    path = tmp_path_factory.mktemp("spark") / "shop.csv"
    tx.write_csv(path)
    return path


def test_summary_fit_and_scores_match_the_polars_engine(cs, shop_csv):
    want_tx = clv.read_transactions(shop_csv, order_col="order_id")
    want = clv.rfm_summary(want_tx, observation_end="2024-06-30")
    want_model = clv.fit(want)
    want_scores = want_model.score(want, horizon=12)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tx = cs.read_transactions(shop_csv, order_col="order_id")
        summary = clv.rfm_summary(tx, observation_end="2024-06-30", engine="spark").cache()
    assert_close(cs.to_polars(summary), want, 1e-9)
    model = clv.fit(summary, engine="spark")
    assert model.engine == "spark"
    assert (model.n_customers, model.n_repeat_buyers) == (want.height, want_model.n_repeat_buyers)
    for part in ("bgnbd", "gamma_gamma"):
        for name, value in getattr(want_model, part).items():
            assert getattr(model, part)[name] == pytest.approx(value, rel=1e-6)
    scores = cs.to_polars(cs.score(model, summary, horizon=12))
    assert_close(scores, want_scores, 1e-9)


def test_calibration_holdout_matches(cs, shop_csv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = clv.calibration_holdout(
            clv.read_transactions(shop_csv), calibration_end="2024-03-31", time_unit="D"
        )
        tx = cs.read_transactions(shop_csv)
    got = clv.calibration_holdout(tx, calibration_end="2024-03-31", time_unit="D", engine="spark")
    assert_close(cs.to_polars(got), want, 1e-9)


day = st.dates(dt.date(2024, 1, 1), dt.date(2024, 3, 31))
rows = st.lists(
    st.tuples(
        st.sampled_from(["007", "a", "b b", "Ω", "10"]),
        day,
        st.integers(0, 23),
        st.floats(0.0, 500.0, allow_nan=False).map(lambda v: round(v, 2)),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking Spark runs takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=rows, end=day, unit=st.sampled_from(["D", "W", "M"]))
def test_messy_data_gives_the_same_summary(cs, tmp_path, rows, end, unit):
    """Several rows per day, times of day, rows after the end, one-time buyers."""
    path = tmp_path / "messy.csv"
    pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": [f"{r[1]}T{r[2]:02d}:30:00" for r in rows],
            "amount": [r[3] for r in rows],
        }
    ).write_csv(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tx = clv.read_transactions(path)
        if end < tx["date"].min():
            end = tx["date"].max()
        want = clv.rfm_summary(tx, observation_end=end, time_unit=unit)
        got = cs.rfm_summary(cs.read_transactions(path), observation_end=end, time_unit=unit)
    assert_close(cs.to_polars(got), want, 1e-9)


@pytest.mark.parametrize(
    "text",
    [
        "customer_id,date,amount\nc1,2024-01-01,5\nc2,01/02/2024,3\n",
        "customer_id,date,amount\nc1,2024-01-01,5\nc1,2024-01-02,7,5\n".replace(",7,5", ",abc"),
        "customer_id,date,amount\nc1,2024-01-01,5\nc2,2024-01-02,3\nc3,2024-01-03,-2\n",
        "cust,date,amount\nc1,2024-01-01,5\n",
    ],
    ids=["bad date", "bad amount", "refund", "missing column"],
)
def test_errors_are_the_one_machine_errors(cs, tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as want:
        clv.read_transactions(path)
    with pytest.raises(DataError) as got:
        cs.read_transactions(path)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("layout", ["plain", "blank lines", "bom"])
def test_errors_name_the_line_polars_names(cs, tmp_path, layout):
    """Spark skips blank lines; the line named is still the one ``grep -n`` finds. (Values
    over several lines: Spark splits a UTF-8 file at every line break, see docs/spark.md.)"""
    from tests.test_lines import LAYOUTS

    path = tmp_path / "orders.csv"
    path.write_bytes(LAYOUTS[layout].encode("utf-8"))
    with pytest.raises(DataError) as want:
        clv.read_transactions(path)
    with pytest.raises(DataError) as got:
        cs.read_transactions(path)
    assert str(got.value) == str(want.value)


def test_a_file_spark_reads_from_elsewhere_names_records_as_a_spreadsheet(cs):
    """No line clv can see: ``record N``, the header being record 1; Parquet keeps rows."""
    from clv.engines.spark_read import _locate

    def where(source: str) -> str:
        return _locate(source, None, ",", "utf-8")(7, "amount")

    assert where("s3a://lake/orders.csv") == "record 8"
    assert where("s3a://lake/orders.ndjson") == "record 7"
    assert where("s3a://lake/orders/") == "row 7"


def test_cli_engine_spark_writes_the_polars_scores(cs, shop_csv, tmp_path):
    args = [str(shop_csv), "--observation-end", "2024-06-30", "--horizon", "6"]
    assert main(["score", *args, "--out", str(tmp_path / "want.parquet")]) == 0
    spark_args = ["--engine", "spark", "--spark-conf", "spark.sql.shuffle.partitions=2"]
    assert main(["score", *args, *spark_args, "--out", str(tmp_path / "got.parquet")]) == 0
    want, got = (pl.read_parquet(tmp_path / f"{n}.parquet") for n in ("want", "got"))
    assert_close(got, want, 1e-9)
    assert main(["summarize", str(shop_csv), *spark_args, "--out", str(tmp_path / "rfm")]) == 0
    assert pl.read_parquet(tmp_path / "rfm" / "*.parquet").height == 4_000


def test_a_polars_frame_is_a_usage_error(cs, shop):
    with pytest.raises(UsageError, match="needs the transactions as a Spark DataFrame"):
        clv.rfm_summary(shop[0], engine="spark")


def test_bad_spark_conf_is_a_usage_error(capsys):
    code = main(["fit", "x.csv", "--engine", "spark", "--spark-conf", "oops", "--out", "m.json"])
    assert code == 2
    assert "--spark-conf oops: expected settings KEY=VALUE" in capsys.readouterr().err


def test_a_bad_spark_master_is_one_line_before_any_jvm(tmp_path):
    """Spark would print its refusal and a JVM stack: the spec checks the master first."""
    args = ["summarize", "x.csv", "--engine", "spark", "--spark-master", "bogus://x"]
    run = subprocess.run(
        [sys.executable, "-m", "clv.cli", *args, "--out", "s.csv"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "clv summarize: error: --spark-master bogus://x: expected a Spark master: local, "
        "local[N], yarn, spark://host:port or k8s://url or none"
    ]


def test_analyze_starts_its_session_with_spark_conf(cs, shop_csv):
    """``analyze(spark_conf=...)`` sets the session's settings (a report's kernel gets them as
    parameters); the active session is kept without ``spark_master``."""
    spark = cs.spark_session()
    key = "spark.sql.shuffle.partitions"
    before = spark.conf.get(key)
    try:
        clv.analyze(shop_csv, engine="spark", spark_conf={key: 3}).period  # noqa: B018
        assert spark.conf.get(key) == "3"
    finally:
        spark.conf.set(key, before)


def test_without_pyspark_one_line_says_how_to_install(tmp_path):
    """Run without pyspark importable (a None entry in sys.modules blocks the import)."""
    code = (
        "import sys; sys.modules['pyspark'] = None; from clv.cli import main; "
        f"sys.exit(main(['summarize', 'x.csv', '--engine', 'spark', '--out', "
        f"{str(tmp_path / 'out.csv')!r}]))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "clv summarize: error: the Spark engine needs pyspark: pip install 'clv[spark]' "
        "(and a Java 17+ runtime)"
    ]


def test_the_one_machine_path_does_not_import_pyspark(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,5\na,2024-02-01,7\nb,2024-01-05,3\n")
    code = (
        "import sys; from clv.cli import main; "
        f"main(['summarize', {str(path)!r}, '--out', {str(tmp_path / 's.csv')!r}]); "
        "print('pyspark' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "False"


def test_a_missing_file_or_table_is_a_data_error(cs, tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError) as want:
        clv.read_transactions(missing)
    with pytest.raises(DataError) as got:
        cs.read_transactions(missing)
    assert str(got.value) == str(want.value)
    with pytest.raises(DataError, match="no_such_table: Spark cannot read it"):
        cs.read_transactions("no_such_table")


# ---- the reading rules: the one-machine reader's outcome on every tricky file ------------

_H = "customer_id,date,amount\n"
_HOUSE = (
    _H
    + "".join(f"c{i},2024-01-{1 + i % 28:02d},5\n" for i in range(80))
    + "".join(f"shop,2024-{1 + d // 28:02d}-{1 + d % 28:02d},1\n" for d in range(90))
)
READS = {
    "doubled quotes": (_H + '"=HYPERLINK(""x"",U-1)",2024-01-05,5\nc1,2024-01-06,3\n', {}),
    "date 9999-12-31": (_H + "c1,2024-01-05,5\nc2,9999-12-31,5\n", {}),
    "utf-16": ((_H + "Zoë,2024-01-05,5\nc1,2024-01-06,3\n").encode("utf-16"), {}),
    "utf-16 given": (
        (_H + "Zoë,2024-01-05,5\nc1,2024-01-06,3\n").encode("utf-16"),
        {"encoding": "utf-16"},
    ),
    "latin-1 given": (
        (_H + "Zoë,2024-01-05,5\nc1,2024-01-06,3\n").encode("latin-1"),
        {"encoding": "latin-1"},
    ),
    "cp1250 given": (
        (_H + "Łukasz,2024-01-05,5\nŻaneta,2024-01-06,3\n").encode("cp1250"),
        {"encoding": "cp1250"},
    ),
    "not utf-8": ((_H + "c1,2024-01-05,1\nZoë,2024-01-05,10\n").encode("latin-1"), {}),
    "decimal comma, currency, d.m.Y": (
        'customer_id;date;amount\nc1;05.01.2024;"1 234,50 zł"\nc1;16.01.2024;12,50 zł\n'
        "c2;07.02.2024;0,99 zł\n",
        {"separator": ";", "decimal_comma": True},
    ),
    "decimal comma with a point": (
        "customer_id;date;amount\nc1;2024-01-05;12,50\nc1;2024-01-06;7.50\n",
        {"separator": ";", "decimal_comma": True},
    ),
    "quantity x price, d/m/Y with times": (
        "customer_id,date,qty,price\nc1,13/01/2024 10:15,3,1.10\nc1,02/02/2024 09:00,2,2.5\n",
        {"quantity_col": "qty", "price_col": "price"},
    ),
    "refunds netted onto orders": (
        "customer_id,date,amount,order\nc1,2024-01-05,10,o1\nc1,2024-01-09,20,o2\n"
        "c1,2024-01-20,-4,o1\nc2,2024-01-09,7,o3\nc2,2024-01-02,-1,o9\nc3,2024-02-01,-3,o8\n"
        "c3,2024-02-03,6,o7\n",
        {"negative_amounts": "net", "order_col": "order"},
    ),
    "refunds dropped": (_H + "c1,2024-01-05,10\nc1,2024-01-09,-4\n", {"negative_amounts": "drop"}),
    "refund refused": (_H + "c1,2024-01-05,10\nc1,2024-01-09,-4\n", {}),
    "placeholders, zeros, duplicates": (
        _H + "c1,2024-01-05,0\nc1,2024-01-05,0\nGuest,2024-01-05,3\n ,2024-01-06,1\n"
        "(blank),2024-01-06,1\nc2,2024-01-07,4\n",
        {},
    ),
    "placeholders kept": (
        _H + "guest,2024-01-05,3\nc2,2024-01-07,4\n",
        {"keep_placeholder_ids": True},
    ),
    "house account": (_HOUSE, {}),
    "channel, product, loyalty, margin": (
        "id,day,value,ch,prod,member,m\nc1,2024-01-05,10,search,,yes,2.5\n"
        "c1,2024-01-09,20,,p2,no,4\nc2,2024-01-09,7,social,p1,1,1\n",
        {
            "customer_col": "id",
            "date_col": "day",
            "amount_col": "value",
            "channel_col": "ch",
            "product_col": "prod",
            "loyalty_col": "member",
            "margin_col": "m",
        },
    ),
    "bad loyalty flag": (
        "customer_id,date,amount,member\nc1,2024-01-05,10,maybe\n",
        {"loyalty_col": "member"},
    ),
    "empty order id": (
        "customer_id,date,amount,order\nc1,2024-01-05,10,o1\nc1,2024-01-06,10,\n",
        {"order_col": "order"},
    ),
    "ragged row": (_H + "c1,2024-01-05,10\nc3,2024-01-09,7,50\n", {}),
    "ragged row beside an unused column": (
        "customer_id,date,note,amount\nc1,2024-01-05,a,10\nc3,2024-01-09,b,7,50\n",
        {},
    ),
    "ambiguous day and month": (_H + "c1,01/02/2024,10\nc1,03/04/2024,12\n", {}),
    "before 1990, allowed": (
        _H + "c1,1985-01-05,10\nc1,2024-01-06,3\n",
        {"allow_dates_from": "1980-01-01"},
    ),
    "before 1990": (_H + "c1,1985-01-05,10\nc1,2024-01-06,3\n", {}),
    "rows of empty fields": (_H + "c1,2024-01-05,10\n,,\n\nc1,2024-01-09,3\n", {}),
    "tab separated": ("customer_id\tdate\tamount\nc1\t2024-01-05\t3\n", {"separator": "\t"}),
    "customers excluded on request": (
        _H + "c1,2024-01-05,10\nh1,2024-01-05,4\n h1 ,not a date,4\nguest,2024-01-06,2\n"
        "c2,2024-01-07,8\nh2,2024-01-08,1\n",
        {"exclude_customers": ["h1", "h2", "zz"]},
    ),
}


def _read(reader, path, options):
    """What a reader does with a file: the frame and quality, or the error, and the warnings."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            loaded = reader(path, **options)
            outcome = (loaded.transactions, loaded.quality)
        except clv.ClvError as e:
            outcome = (type(e).__name__, str(e))
    return outcome, [str(w.message) for w in seen]


@pytest.mark.parametrize("case", list(READS))
def test_spark_reads_every_file_as_the_one_machine_reader(cs, tmp_path, case):
    from clv.data.io import load_transactions

    content, options = READS[case]
    path = tmp_path / "tx.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    want, want_warnings = _read(load_transactions, path, options)
    got, got_warnings = _read(cs.load_transactions, path, options)
    if isinstance(want[0], str):
        assert got == want
    else:
        assert got[1] == want[1]
        assert got[0].equals(want[0]), (got[0], want[0])
    assert got_warnings == want_warnings


def test_a_rewritten_file_is_read_again(cs, tmp_path):
    """Spark's cache matches plans by meaning: a second read of the same path must not get
    the first read's rows."""
    path = tmp_path / "tx.csv"
    path.write_text(_H + "a,2024-01-05,1\n")
    assert cs.to_polars(cs.read_transactions(path))["customer_id"].to_list() == ["a"]
    path.write_text(_H + "b,2024-01-05,1\nc,2024-01-06,2\n")
    assert cs.to_polars(cs.read_transactions(path))["customer_id"].to_list() == ["b", "c"]


# ---- the bad-input corpus of test_robustness on both engines -----------------------------

from tests.test_robustness import CASES, command_line  # noqa: E402

SPARK_CORPUS = [case for case in CASES if "summarize" in case.commands]


@pytest.mark.parametrize("case", SPARK_CORPUS, ids=[c.id for c in SPARK_CORPUS])
def test_the_bad_input_corpus_has_the_same_outcome_on_spark(cs, case, tmp_path, capsys):
    """``clv summarize`` on each bad input: the same exit code and the same error line."""
    data = case.make(tmp_path)
    (tmp_path / "out").mkdir()
    args = command_line(case, "summarize", data, tmp_path)
    want = main(args), capsys.readouterr().err
    got = main([*args, "--engine", "spark"]), capsys.readouterr().err
    assert got == want
    assert not any((tmp_path / "out").iterdir())


# ---- every model and option: the polars engine's numbers ---------------------------------

SHOP_OPTIONS = [
    *(["--order-col", "order_id", "--channel-col", "channel", "--product-col", "product"]),
    *(["--loyalty-col", "loyalty", "--observation-end", "2024-06-30"]),
]


@pytest.fixture(scope="module")
def full_shop_csv(shop, tmp_path_factory) -> Path:
    """The 4,000-customer shop with every optional column, as a CSV file."""
    path = tmp_path_factory.mktemp("spark") / "full_shop.csv"
    shop[0].write_csv(path)
    return path


def _run(command: str, args: list[str], out: Path) -> Path:
    assert main([command, *args, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("model", ["mbgnbd", "pareto_nbd"])
def test_every_purchase_model_is_fitted_and_scored_on_spark(cs, shop_csv, model, tmp_path):
    """Fitted on the driver from Spark's distinct rows, scored with mapInArrow."""
    args = [str(shop_csv), "--observation-end", "2024-06-30", "--purchase-model", model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = ClvModel.load(_run("fit", args, tmp_path / "want.json"))
        got = ClvModel.load(_run("fit", [*args, "--engine", "spark"], tmp_path / "got.json"))
        assert (got.purchase_model, got.engine) == (model, "spark")
        for part in ("purchase", "gamma_gamma"):
            for name, value in getattr(want, part).items():
                assert getattr(got, part)[name] == pytest.approx(value, rel=1e-6), name
        scores = [
            pl.read_parquet(_run("score", [*args, *engine], tmp_path / f"{name}.parquet"))
            for name, engine in (("want", []), ("got", ["--engine", "spark"]))
        ]
    assert_close(scores[1], scores[0], 1e-6)


@pytest.mark.parametrize(
    "options",
    [
        ["--by", "channel", "--interval", "0.9", "--prediction-interval", "0.8"],
        ["--margin-col", "margin", "--purchase-model", "auto", "--negative-amounts", "net"],
    ],
    ids=["by channel, intervals", "margins, auto, net refunds"],
)
def test_kpis_segments_and_scores_on_spark_equal_the_polars_ones(
    cs, full_shop_csv, options, tmp_path, monkeypatch
):
    """Every table from Spark's rows: the analysis never makes a per-row table on the driver
    (one ``.csv``/``.parquet`` file is streamed to it in batches)."""
    refuse_per_row(monkeypatch)
    args = [str(full_shop_csv), *SHOP_OPTIONS, *options]
    outputs = (("kpis", "kpis.json"), ("segments", "seg.parquet"), ("score", "scores.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for command, out in outputs:
            want = _run(command, args, tmp_path / f"want-{out}")
            got = _run(command, [*args, "--engine", "spark"], tmp_path / f"got-{out}")
            if out.endswith(".json"):
                assert_same_numbers(json.loads(got.read_text()), json.loads(want.read_text()))
            elif out.endswith(".csv"):
                assert_close(pl.read_csv(got), pl.read_csv(want), 1e-6)
            else:
                assert_close(pl.read_parquet(got), pl.read_parquet(want), 1e-6)


def test_the_report_on_spark_writes_the_polars_reports_kpis(cs, shop, tmp_path, capsys):
    """``clv report --engine spark``: the same notebook, its kernel the Spark driver (a local
    session of its own), the same kpis.json and the same warnings (read in the kernel)."""
    path = tmp_path / "shop.csv"
    tx = shop[0].filter(pl.col("customer_id") < "C0001500")
    pl.concat([tx, tx.head(3).with_columns(amount=pl.lit(0.0))]).write_csv(path)
    args = [str(path), "--channel-col", "channel", "--loyalty-col", "loyalty"]
    session = ["--spark-master", "local[2]", "--spark-conf", "spark.sql.shuffle.partitions=3"]
    runs, said = {}, {}
    for engine in ("polars", "spark"):
        options = ["--engine", engine, *(session if engine == "spark" else [])]
        assert main(["report", *args, *options, "--out", str(tmp_path / engine)]) == 0
        (run,) = (tmp_path / engine).glob("*-customer_value")
        runs[engine] = run
        said[engine] = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert any("rows are 0" in line for line in said["polars"])
    assert said["spark"] == said["polars"]
    want, got = (json.loads((runs[e] / "kpis.json").read_text()) for e in ("polars", "spark"))
    assert_same_numbers(got, want)
    given = json.loads((runs["spark"] / "manifest.json").read_text())["parameters"]
    assert given["engine"] == "spark" and given["spark_master"] == "local[2]"
    assert given["spark_conf"] == {"spark.sql.shuffle.partitions": "3"}


def test_the_report_on_spark_reads_once_in_the_kernel_and_fails_as_the_check_does(
    cs, shop, tmp_path, capsys
):
    """``clv report --engine spark`` starts no Spark in the ``clv`` process (the kernel's
    session is the report's one); a bad value fails with the polars check's line, as a failed
    run that keeps its partial notebook."""
    path = tmp_path / "bad.csv"
    text = shop[0].head(300).select("customer_id", "date", "amount").write_csv()
    lines = text.splitlines()
    lines[200] = lines[200].rsplit(",", 1)[0] + ",five"
    path.write_text("\n".join(lines) + "\n")
    assert main(["report", str(path), "--out", str(tmp_path / "polars")]) == 1
    want = capsys.readouterr().err.splitlines()[-1]
    assert "'five'" in want and str(path) in want
    # the clv process, on its own: does it import pyspark (start a session) for the report?
    script = "import sys; from clv.cli import main; c = main(sys.argv[1:]); "
    script += "print('pyspark' in sys.modules); sys.exit(c)"
    args = ["report", str(path), "--engine", "spark", "--out", str(tmp_path / "spark")]
    run = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 1, run.stderr
    assert run.stdout.strip() == "False"
    assert [line for line in run.stderr.splitlines() if line != JVM_NOTICE] == [want]
    (folder,) = (tmp_path / "spark").glob("*-customer_value")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    (check,) = (tmp_path / "polars" / "history.jsonl").read_text().splitlines()
    assert manifest["error"] == json.loads(check)["error"]  # the polars check's record
    assert (folder / "customer_value.ipynb").is_file()  # the partial notebook, for diagnosis


JVM_NOTICE = "WARNING: Using incubator modules: jdk.incubator.vector"
"""The one line the JVM itself prints when Spark 4 starts (not a log line: no setting turns
it off)."""


def test_a_9999_date_is_one_line_on_spark_without_spark_logging(cs, tmp_path):
    """In a process of its own, so the JVM's own output is seen too."""
    path = tmp_path / "far.csv"
    path.write_text(_H + "c1,2024-01-05,5\nc2,9999-12-31,5\n")
    command = ["summarize", str(path), "--out", str(tmp_path / "s.csv")]
    runs = [
        subprocess.run(
            [sys.executable, "-m", "clv.cli", *command, *engine],
            capture_output=True,
            text=True,
        )
        for engine in ([], ["--engine", "spark", "--spark-master", "local[1]"])
    ]
    want, got = (r.stderr.splitlines() for r in runs)
    assert len(want) == 1 and "date '9999-12-31' is after" in want[0]
    assert [line for line in got if line != JVM_NOTICE] == want
    assert runs[1].returncode == runs[0].returncode == 1


@pytest.mark.parametrize("margins", [[], ["--margin-col", "margin"]], ids=["job", "margins"])
def test_summarize_on_spark_says_and_writes_what_polars_does(
    cs, full_shop_csv, margins, tmp_path, capsys, monkeypatch
):
    """Every step on Spark (the distributed job; with margins, the analysis's summary), the
    same warnings and the same summary, streamed to the one file."""
    refuse_per_row(monkeypatch)
    args = ["summarize", str(full_shop_csv), "--order-col", "order_id", *margins]
    args += ["--observation-end", "2024-06-30", "--time-unit", "D"]
    outputs = []
    for engine in ("polars", "spark"):
        out = tmp_path / f"{engine}.parquet"
        assert main([*args, "--engine", engine, "--out", str(out)]) == 0
        outputs.append((pl.read_parquet(out), capsys.readouterr().err.replace(str(out), "OUT")))
    (want, want_err), (got, got_err) = outputs
    assert got_err == want_err
    assert "rows after the observation end 2024-06-30 are left out" in want_err
    assert_close(got, want, 1e-9)


# ---- kpis and segments computed where the data lives ------------------------------------


@pytest.mark.parametrize("shape", ["cdnow", "shop", "steady"])
def test_kpis_on_spark_equal_the_polars_kpis(
    cs, spark_shapes, shape, tmp_path, capsys, monkeypatch
):
    """``clv kpis --engine spark`` (counted by Spark, the transactions never collected)
    writes the polars engine's kpis.json and says what it does, warnings included."""
    from clv.engines.spark_analysis import SparkAnalysis

    path, options = spark_shapes[shape]
    documents, said = [], []
    for engine in ("polars", "spark"):
        if engine == "spark":  # the checked rows are never collected
            collected = property(lambda _: pytest.fail("the transactions were collected"))
            monkeypatch.setattr(SparkAnalysis, "transactions", collected)
        out = tmp_path / f"{engine}.json"
        assert main(["kpis", str(path), *options, "--engine", engine, "--out", str(out)]) == 0
        documents.append(json.loads(out.read_text()))
        said.append(capsys.readouterr().err.replace(str(out), "OUT"))
    want, got = documents
    assert_same_numbers(got, want)
    assert said[1] == said[0]
    rule = "recency" if shape == "steady" else "p_alive"
    assert got["at_risk"]["rule"] == rule and got["at_risk"]["customers"] > 0


def test_kpis_and_segments_never_collect_a_row_per_customer(cs, spark_shapes, monkeypatch):
    """After the read (its 10,000-row sample for the formats), the driver collects the fit's
    distinct rows and a few numbers: never the transactions, never a row per customer."""
    from clv.cli.spark import write_table

    path, _ = spark_shapes["cdnow"]
    analysis = clv.analyze(path, engine="spark")
    summary = clv.analyze(path).summary
    distinct = max(
        summary.select("frequency", "recency", "T").n_unique(),
        summary.filter(pl.col("frequency") > 0).select("frequency", "monetary_value").n_unique(),
    )
    assert distinct < summary.height

    collected = Collected(monkeypatch, cs.spark_session())
    kpis = analysis.kpis
    out = Path(str(path)).with_name("segments")
    written = write_table(analysis, "segments", out, overwrite=False)
    assert written == summary.height == kpis["customers"]

    assert "transactions" not in analysis.__dict__
    assert collected.rows and max(collected.rows) <= distinct
    assert sorted(collected.rows)[-3] <= 2  # besides the fit's two tables: rows of numbers


def test_segments_from_the_workers_equal_the_polars_segments(cs, spark_shapes, tmp_path):
    """``clv segments --engine spark --out FOLDER``: Spark's workers write the polars
    engine's segments, row for row (sorted by id), with the same columns and types."""
    path, options = spark_shapes["shop"]
    args = ["segments", str(path), *options]
    assert main([*args, "--out", str(tmp_path / "want.parquet")]) == 0
    assert main([*args, "--engine", "spark", "--out", str(tmp_path / "got")]) == 0
    want = pl.read_parquet(tmp_path / "want.parquet")
    parts = pl.read_parquet(tmp_path / "got" / "*.parquet")
    got = parts.sort("customer_id").with_columns(pl.col("time_unit").cast(want["time_unit"].dtype))
    assert_close(got, want, 1e-9)


def test_a_file_comes_to_the_driver_in_parts_of_bounded_rows_in_its_order(
    cs, spark_shapes, monkeypatch
):
    """Each part is one Spark job's result (``spark.driver.maxResultSize`` counts it): parts
    of about ``PART_ROWS`` rows, whatever the shop's size, in the lists' own orders."""
    from clv.engines import spark_batches

    path, options = spark_shapes["shop"]
    want, got = both_engines(path, analyze_keywords(options))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for table in ("segments", "at_risk", "lost"):
            expected = want.rows(table)
            assert isinstance(expected, pl.DataFrame) and expected.height >= 20, table
            monkeypatch.setattr(spark_batches, "PART_ROWS", expected.height // 4)
            rows = got.rows(table)
            assert not isinstance(rows, pl.DataFrame)
            parts = list(rows.read())
            assert len(parts) > 4  # the schema, then at least a batch of each of 4 parts
            assert_close(pl.concat(parts), expected, 1e-9)
