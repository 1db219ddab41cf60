"""Every figure draws all of its data: bars, lines, points and cells counted against the frames,
and the histograms binned with numpy match matplotlib's own binning of the raw values."""

import warnings
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from test_plots import _grid, _monthly, _monthly_loyalty, _scores

import clv.plots as plots


def _bars(ax: Axes) -> list[tuple[float, float, float]]:
    return [(p.get_x(), p.get_width(), p.get_height()) for p in ax.patches]  # type: ignore[attr-defined]


def _reference_hist(values: np.ndarray, bins: object) -> list[tuple[float, float, float]]:
    ax = Figure().add_subplot()
    ax.hist(values, bins=bins)  # type: ignore[arg-type]
    return _bars(ax)


def _shuffled(values: list[float | None], seed: int) -> pl.DataFrame:
    order = np.random.default_rng(seed).permutation(len(values))
    return pl.DataFrame({"v": [values[i] for i in order]}, schema={"v": pl.Float64})


EDGES = st.integers(0, 40).map(lambda k: k / 40)  # values on the P(alive) bin edges


@settings(max_examples=80)
@given(
    values=st.lists(
        st.one_of(st.none(), st.floats(0, 1), EDGES, st.sampled_from([0.0, 0.5, 1.0])),
        min_size=1,
        max_size=300,
    ),
    seed=st.integers(0, 2**16),
)
def test_p_alive_bins_are_matplotlibs(values: list[float | None], seed: int) -> None:
    frame = _shuffled(values, seed).rename({"v": "p_alive"})
    p = frame["p_alive"].drop_nulls().to_numpy()
    ax = plots.p_alive_distribution(frame)
    plt.close(ax.get_figure(root=True))  # many examples in one test
    assert _bars(ax) == _reference_hist(p, np.linspace(0, 1, 41))
    assert sum(h for _, _, h in _bars(ax)) == len(p)


@settings(max_examples=80)
@given(
    values=st.lists(
        st.one_of(st.none(), st.floats(0, 1e6), st.sampled_from([0.0, 1.0, 99.5])),
        min_size=1,
        max_size=300,
    ),
    seed=st.integers(0, 2**16),
)
def test_clv_bins_are_matplotlibs(values: list[float | None], seed: int) -> None:
    frame = _shuffled(values, seed).rename({"v": "clv"})
    v = frame["clv"].drop_nulls().to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all null: no median, as before
        ax = plots.clv_distribution(frame)
    plt.close(ax.get_figure(root=True))
    top = np.quantile(v, 0.99) if len(v) else 1.0
    assert _bars(ax) == _reference_hist(v[v <= top], 50)


def test_one_customer_and_no_customer_histograms() -> None:
    one = plots.p_alive_distribution(pl.DataFrame({"p_alive": [1.0]}))
    assert [h for _, _, h in _bars(one)] == [0.0] * 39 + [1.0]
    ax = plots.clv_distribution(pl.DataFrame({"clv": [42.0]}))
    assert _bars(ax) == _reference_hist(np.array([42.0]), 50)
    empty = plots.p_alive_distribution(
        pl.DataFrame({"p_alive": []}, schema={"p_alive": pl.Float64})
    )
    assert len(_bars(empty)) == 40 and sum(h for _, _, h in _bars(empty)) == 0


def _image(ax: Axes) -> np.ndarray:
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    return np.asarray(image.get_array())


def _lines(ax: Axes) -> list[list[float]]:
    return [list(np.asarray(line.get_ydata(), dtype=float)) for line in ax.get_lines()]


def _shape(ax: Axes) -> tuple[int, ...]:
    return _image(ax).shape


SCORES = _scores()
MONTHLY = _monthly()
LOYAL = _monthly_loyalty()


def _heights(ax: Axes) -> list[float]:
    return [h for _, _, h in _bars(ax)]


FIGURES: dict[str, tuple[Callable[[], Axes], Callable[[Axes], object], object]] = {
    "period_transactions": (
        lambda: plots.period_transactions(
            pl.DataFrame(
                {"frequency": ["0", "1", "2+"], "observed": [5, 3, 1], "expected": [4.5, 3, 1]}
            )
        ),
        _heights,
        [5, 3, 1, 4.5, 3, 1],
    ),
    "probability_alive_matrix": (
        lambda: plots.probability_alive_matrix(_grid("p_alive")),
        _shape,
        (5, 8),
    ),
    "frequency_recency_matrix": (
        lambda: plots.frequency_recency_matrix(_grid("expected_purchases")),
        _shape,
        (5, 8),
    ),
    "gamma_gamma_independence": (
        lambda: plots.gamma_gamma_independence(SCORES),
        lambda ax: len(ax.collections[0].get_offsets()),  # type: ignore[attr-defined]
        SCORES.filter(pl.col("frequency") > 0).height,
    ),
    "frequency_histogram": (
        lambda: plots.frequency_histogram(SCORES),
        _heights,
        np.bincount(np.minimum(SCORES["frequency"].to_numpy(), 20), minlength=21),
    ),
    "revenue_by_month": (  # stacked: the returning bars' heights are drawn above the new ones
        lambda: plots.revenue_by_month(MONTHLY),
        _heights,
        [*MONTHLY["new_revenue"], *MONTHLY["returning_revenue"]],
    ),
    "aov_new_vs_returning": (
        lambda: plots.aov_new_vs_returning(MONTHLY),
        _lines,
        [MONTHLY["aov_new"].to_list(), MONTHLY["aov_returning"].to_list()],
    ),
    "loyalty_by_month": (
        lambda: plots.loyalty_by_month(LOYAL),
        _lines,
        [LOYAL["member_aov"].to_list(), LOYAL["non_member_aov"].to_list()],
    ),
    "loyalty_program_net": (
        lambda: plots.loyalty_program_net(LOYAL),
        _heights,
        [*LOYAL["extra_margin"], *(-LOYAL["program_cost"])],
    ),
    "tier_shares": (
        lambda: plots.tier_shares(
            pl.DataFrame({"tier": ["a", "b"], "customer_share": [0.3, 0.7], "v_share": [0.8, 0.2]})
        ),
        _heights,
        [0.3, 0.7, 0.8, 0.2],
    ),
    "cohort_retention": (  # month 0 (everyone) is left out
        lambda: plots.cohort_retention(
            pl.DataFrame(
                [(c, p, 0.1 * p) for c in ["2024-01", "2024-02"] for p in range(4)],
                schema=["cohort", "months_since", "retention"],
                orient="row",
            )
        ),
        _image,
        [[0.1, 0.2, 0.3]] * 2,
    ),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_a_figure_draws_all_its_data(name: str) -> None:
    draw, observe, expected = FIGURES[name]
    np.testing.assert_allclose(
        np.asarray(observe(draw()), float), np.asarray(expected, float), rtol=1e-12
    )
