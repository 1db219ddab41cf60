"""The one parameter spec: the library, the CLI, the notebooks and configs agree with it."""

import argparse
import inspect
import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import clv
from clv import params
from clv.analysis.pipeline import analyze
from clv.cli.commands import build_parser
from clv.data.io import load_transactions, read_transactions
from clv.errors import UsageError
from clv.report import parameters


def _cell(notebook: str) -> str:
    nb = json.loads(parameters.notebook_path(notebook).read_text())
    (cell,) = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    return "".join(cell["source"])


@pytest.mark.parametrize("notebook", params.NOTEBOOKS)
def test_each_notebooks_parameters_cell_is_made_from_the_spec(notebook) -> None:
    assert _cell(notebook) == params.parameters_cell(notebook), (
        "run python -m clv.report.parameters"
    )
    assert parameters.notebook_parameters(notebook) == params.defaults(notebook)


@pytest.mark.parametrize("notebook", params.NOTEBOOKS)
def test_papermill_shows_every_parameters_type_and_help(notebook) -> None:
    from papermill.translators import PythonTranslator

    found = {p.name: p for p in PythonTranslator.inspect(_fake_cell(notebook))}
    assert list(found) == list(params.notebook_spec(notebook))
    for name, p in found.items():
        assert p.inferred_type_name == params.SPEC[name].annotation(), name
        assert p.help == params.SPEC[name].help, name


def _fake_cell(notebook: str):
    import nbformat

    return nbformat.v4.new_code_cell(params.parameters_cell(notebook))


def test_the_library_keywords_have_the_specs_defaults() -> None:
    """``analyze`` and ``read_transactions`` take the spec's names with the spec's defaults."""
    from clv.data.rfm import calibration_holdout, rfm_summary
    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel

    functions = (analyze, read_transactions, load_transactions, rfm_summary, calibration_holdout)
    for function in (*functions, clv.fit, ClvModel.score, GroupedClvModel.score):
        signature = inspect.signature(function).parameters
        for name, p in signature.items():
            if name in params.SPEC and p.default is not inspect.Parameter.empty:
                if name == "time_unit" and p.default is None:  # the summary's own unit
                    continue
                if name == "engine" and function is clv.fit:  # fit's own: fast, lifetimes, spark
                    continue
                if name == "margin" and function.__name__ == "score":  # a rate: 1.0 = none
                    assert p.default == 1.0
                    continue
                default = p.default
                expected = params.SPEC[name].default
                if isinstance(default, tuple):
                    default = list(default)
                assert default == expected, f"{function.__name__}({name}=)"
    keywords = set(inspect.signature(analyze).parameters) | set(
        inspect.signature(read_transactions).parameters
    )
    analysis_names = {
        n for n, p in params.SPEC.items() if p.group not in ("report", "injected", "source")
    }
    assert analysis_names <= keywords
    assert {"dataset", "synthetic_customers"} <= keywords


def test_bgnbd_is_the_default_purchase_model_everywhere() -> None:
    assert params.SPEC["purchase_model"].default == "bgnbd"
    assert inspect.signature(analyze).parameters["purchase_model"].default == "bgnbd"
    assert inspect.signature(clv.fit).parameters["purchase_model"].default == "bgnbd"
    for notebook in params.NOTEBOOKS:
        assert parameters.notebook_parameters(notebook)["purchase_model"] == "bgnbd"


def _options(command: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest for a in sub.choices[command]._actions if a.option_strings}


@pytest.mark.parametrize("command", params.COMMANDS)
def test_cli_options_come_from_the_spec(command) -> None:
    options = _options(command)
    assert set(params.command_spec(command)) - {"data"} <= options


def test_every_kpis_option_is_a_report_option() -> None:
    """The Spark session's too: a report's kernel starts the session of ``--spark-master``."""
    own = {"out", "overwrite"}
    assert _options("kpis") - own <= _options("report")
    assert {"channel_costs", "member_discount_rate", "cost_per_reward"} <= _options("kpis")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"horizon": "6"}, {"horizon": 6.0}),
        ({"discount_rate_annual": "0.08"}, {"discount_rate_annual": 0.08}),
        ({"mask_ids": "false"}, {"mask_ids": False}),
        ({"observation_end": "1998-06-30"}, {"observation_end": "1998-06-30"}),
        ({"calibration_end": "none"}, {"calibration_end": None}),
        ({"calibration_end": "AUTO"}, {"calibration_end": "auto"}),
        ({"order_col": "none"}, {"order_col": None}),
        ({"title": "Q3 review: 10 % up"}, {"title": "Q3 review: 10 % up"}),
        ({"tier_cuts": "[0.1, 0.9]"}, {"tier_cuts": [0.1, 0.9]}),
        ({"milestones": "[4, 10]"}, {"milestones": [4, 10]}),
        (
            {"channel_costs": "{search = 12.5, social = 30}", "channel_col": "ch"},
            {"channel_costs": {"search": 12.5, "social": 30.0}, "channel_col": "ch"},
        ),
        ({"channel_costs": '{"search": 20}', "channel_col": "ch"}, None),
        ({"interval": "0.9", "interval_method": "bootstrap"}, None),
        (
            {"spark_master": " yarn ", "engine": "spark"},
            {"spark_master": "yarn", "engine": "spark"},
        ),
        ({"engine": "spark", "spark_master": "local[2]"}, None),
        ({"engine": "spark", "spark_master": "k8s://https://h:443"}, None),
        (
            {"engine": "spark", "spark_conf": ["spark.executor.memory = 8g", "a.b=x=y"]},
            {"engine": "spark", "spark_conf": {"spark.executor.memory": "8g", "a.b": "x=y"}},
        ),
        (
            {"engine": "spark", "spark_conf": '{spark.executor.memory = "8g", spark.a.b = 1}'},
            {"engine": "spark", "spark_conf": {"spark.executor.memory": "8g", "spark.a.b": "1"}},
        ),
        ({"spark_conf": {}}, {"spark_conf": None}),
        (
            {"engine": "spark", "spark_conf": '{"spark.sql.shuffle.partitions" = 400, x = true}'},
            {"engine": "spark", "spark_conf": {"spark.sql.shuffle.partitions": "400", "x": "true"}},
        ),
    ],
)
def test_text_is_read_by_the_parameters_kind(given, expected) -> None:
    """What ``-p``, papermill and the CLI pass is text: TOML or JSON, numbers and booleans."""
    if expected is None:
        expected = {k: json.loads(v) if v.startswith("{") else v for k, v in given.items()}
        expected = {k: float(v) if k == "interval" else v for k, v in expected.items()}
        expected = {
            k: {c: float(x) for c, x in v.items()} if isinstance(v, dict) else v
            for k, v in expected.items()
        }
    assert params.validate(given) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"horizon": "soon"}, "horizon='soon': expected a number > 0"),
        ({"horizon": 0}, "horizon=0: expected a number > 0"),
        ({"horizon": "nan"}, "horizon='nan': expected a number > 0"),
        ({"horizon": "inf"}, "horizon='inf': expected a number > 0"),
        ({"horizon": math.inf}, "horizon=inf: expected a number > 0"),
        ({"penalizer": "-inf"}, "penalizer='-inf': expected a number >= 0"),
        ({"seed": "1e400"}, "seed='1e400': expected a whole number >= 0"),
        ({"time_unit": "Y"}, "time_unit='Y': expected one of D, W, M"),
        ({"discount_rate_annual": 1}, "discount_rate_annual=1: expected a number in [0, 1)"),
        ({"margin": 0}, "margin=0: expected a number in (0, 1] or none"),
        ({"observation_end": "30/06/1998"}, "observation_end='30/06/1998': expected a date"),
        ({"mask_ids": "maybe"}, "mask_ids='maybe': expected true or false"),
        ({"tier_cuts": "[0.8, 0.2]"}, "tier_cuts=[0.8, 0.2]: expected two increasing shares"),
        ({"customer_col": 5}, "customer_col=5: expected text"),
        ({"horizn": 3}, "unknown parameter 'horizn'"),
        ({"spark_master": "bogus://x"}, "spark_master='bogus://x': expected a Spark master"),
        ({"spark_master": "local[x]"}, "spark_master='local[x]': expected a Spark master"),
        ({"spark_master": "local[0]"}, "spark_master='local[0]': expected a Spark master"),
        ({"spark_master": "local[ 4]"}, "spark_master='local[ 4]': expected a Spark master"),
        ({"spark_conf": {"": "1"}}, "spark_conf={'': '1'}: expected settings KEY=VALUE"),
        ({"spark_conf": ["a=1", "oops"]}, "spark_conf='oops': expected settings KEY=VALUE"),
        ({"spark_conf": ["=1"]}, "spark_conf='=1': expected settings KEY=VALUE"),
        ({"spark_conf": {"a": [1]}}, "spark_conf={'a': [1]}: expected settings KEY=VALUE"),
    ],
)
def test_wrong_values_are_one_line_naming_the_parameter(given, words) -> None:
    with pytest.raises(UsageError, match=re.escape(words)) as caught:
        params.validate(given)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("given", "names"),
    [
        (
            {"amount_col": "total", "quantity_col": "qty", "price_col": "p"},
            ("amount_col", "quantity_col"),
        ),
        ({"quantity_col": "qty"}, ("quantity_col", "price_col")),
        ({"interval_method": "bootstrap"}, ("interval_method", "interval")),
        ({"channel_costs": {"search": 1}}, ("channel_costs", "channel_col")),
        ({"member_discount_rate": 0.1}, ("member_discount_rate", "loyalty_col")),
        ({"spark_master": "yarn"}, ("spark_master", "engine")),
        ({"spark_conf": {"a": "1"}, "engine": "polars"}, ("spark_conf", "engine")),
    ],
)
def test_forbidden_pairs_name_both_options(given, names) -> None:
    with pytest.raises(UsageError) as caught:
        params.validate(given)
    assert all(f"{n}=" in str(caught.value) for n in names)


def test_the_notebook_takes_only_its_declared_parameters() -> None:
    namespace = {
        **params.defaults("customer_value"),
        "horizon": "24",  # papermill -p passes text
        "channel_costs": '{"search": 20}',
        "channel_col": "channel",
        "engine": "spark",
        "spark_conf": '{"spark.sql.shuffle.partitions" = 8}',
        "stray": 1,
        "run_dir": "/somewhere",
    }
    declared = params.declared("customer_value", namespace)
    assert "stray" not in declared and "run_dir" not in declared
    assert declared["horizon"] == 24.0 and declared["channel_costs"] == {"search": 20.0}
    keywords = params.analysis_keywords(declared)
    assert keywords["source"] is None and "title" not in keywords
    assert keywords["spark_conf"] == {"spark.sql.shuffle.partitions": "8"}
    assert set(keywords) - {"source"} <= set(inspect.signature(analyze).parameters) | set(
        inspect.signature(read_transactions).parameters
    )


@given(st.sampled_from(sorted(params.SPEC)))
def test_every_default_passes_its_own_check(name) -> None:
    p = params.SPEC[name]
    for notebook in (None, *params.NOTEBOOKS):
        default = p.default_for(notebook)
        assert params.coerce(p, default) == default
