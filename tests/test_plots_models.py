"""The model-first plots on CDNOW, for each purchase model: the frames against lifetimes'
functions, every plot drawn from the model alone, and a 1 x 3 grid whose text never overlaps."""

import dataclasses
import itertools
import warnings
from importlib.resources import files

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import polars as pl
import pytest
from matplotlib.axes import Axes

import clv.plots as plots
from clv.data.datasets import CDNOW_CALIBRATION_END, cdnow
from clv.models.fitting import fit

PURCHASE_MODELS = ("bgnbd", "mbgnbd", "pareto_nbd")


def _lifetimes_cdnow() -> pl.DataFrame:
    """lifetimes' own CDNOW summary (``lifetimes.datasets`` does not import on current
    setuptools: its CSV is read from the package)."""
    path = files("lifetimes") / "datasets" / "cdnow_customers_summary_with_transactions.csv"
    with path.open("rb") as f:
        frame = pl.read_csv(f)
    return frame.select(
        customer_id=pl.col("ID").cast(pl.String),
        frequency="x",
        recency="t_x",
        T="T",
        monetary_value="zbar",
    )


@pytest.fixture(scope="module")
def lifetimes_summary() -> pl.DataFrame:
    return _lifetimes_cdnow()


@pytest.fixture(scope="module", params=PURCHASE_MODELS)
def fitted_on_cdnow(request, lifetimes_summary):
    """Our model fitted on lifetimes' CDNOW summary, and lifetimes' fitter of the same
    purchase model holding the same parameters."""
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(lifetimes_summary, purchase_model=request.param, time_unit="W")
    theirs = {
        "bgnbd": BetaGeoFitter,
        "mbgnbd": ModifiedBetaGeoFitter,
        "pareto_nbd": ParetoNBDFitter,
    }[request.param]()
    theirs.params_ = pd.Series(model.purchase)
    return model, theirs


def test_matrix_grids_are_lifetimes(fitted_on_cdnow, lifetimes_summary) -> None:
    model, theirs = fitted_on_cdnow
    f_max = int(lifetimes_summary["frequency"].max())
    r_max = int(lifetimes_summary["T"].max())
    alive = plots.probability_alive_matrix_frame(model, lifetimes_summary)
    expected = plots.frequency_recency_matrix_frame(model, lifetimes_summary, t=1.0)
    assert alive.height == expected.height == (f_max + 1) * (r_max + 1)
    ours_alive = alive["p_alive"].to_numpy().reshape(f_max + 1, r_max + 1).T
    np.testing.assert_allclose(
        ours_alive, theirs.conditional_probability_alive_matrix(f_max, r_max), rtol=0, atol=1e-6
    )
    f, r = np.meshgrid(np.arange(f_max + 1), np.arange(r_max + 1))  # lifetimes' [recency, freq]
    lifetimes_expected = np.asarray(
        theirs.conditional_expected_number_of_purchases_up_to_time(
            1.0, f.ravel().astype(float), r.ravel().astype(float), np.full(f.size, float(r_max))
        )
    ).reshape(f.shape)
    ours_expected = expected["expected_purchases"].to_numpy().reshape(f_max + 1, r_max + 1).T
    np.testing.assert_allclose(ours_expected, lifetimes_expected, rtol=0, atol=1e-6)


def test_predictions_from_numbers_are_lifetimes(fitted_on_cdnow) -> None:
    model, theirs = fitted_on_cdnow
    x, tx, T = np.array([0.0, 1, 5, 20]), np.array([0.0, 10, 30.5, 38]), np.full(4, 38.86)
    np.testing.assert_allclose(
        model.predict_purchases(10, x, tx, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(10, x, tx, T),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        model.predict_p_alive(x, tx, T), theirs.conditional_probability_alive(x, tx, T), rtol=1e-9
    )
    one = model.predict_purchases(10, 2, 30.43, 38.86)
    assert isinstance(one, float) and one == pytest.approx(
        float(theirs.conditional_expected_number_of_purchases_up_to_time(10, 2, 30.43, 38.86)),
        rel=1e-9,
    )


# ---- every plot from the model, for every purchase model ------------------------------------


@pytest.fixture(scope="module", params=PURCHASE_MODELS)
def calibrated(request, cdnow_calibration):
    """A model of each purchase model fitted on the CDNOW calibration period."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(cdnow_calibration, purchase_model=request.param)


def _plots(model, calibration):
    """Each model plot drawn from the model and the data it needs (keyword ``ax`` passed on)."""
    transactions = cdnow()
    return {
        "frequency_recency_matrix": lambda ax: plots.frequency_recency_matrix(
            model, calibration, ax=ax
        ),
        "probability_alive_matrix": lambda ax: plots.probability_alive_matrix(
            model, calibration, ax=ax
        ),
        "period_transactions": lambda ax: plots.period_transactions(model, calibration, ax=ax),
        "calibration_purchases_vs_holdout": lambda ax: plots.calibration_purchases_vs_holdout(
            model, calibration, ax=ax
        ),
        "history_alive": lambda ax: plots.history_alive(
            model, transactions, "0001", observation_end=CDNOW_CALIBRATION_END, ax=ax
        ),
        "cumulative_transactions": lambda ax: plots.cumulative_transactions(
            model, transactions, calibration_end=CDNOW_CALIBRATION_END, ax=ax
        ),
        "incremental_transactions": lambda ax: plots.incremental_transactions(
            model, transactions, calibration_end=CDNOW_CALIBRATION_END, ax=ax
        ),
        "heterogeneity": lambda ax: plots.heterogeneity(model, ax=ax),
        "heterogeneity_dropout": lambda ax: plots.heterogeneity(model, quantity="dropout", ax=ax),
        "spend_distribution": lambda ax: plots.spend_distribution(model, calibration, ax=ax),
    }


def test_every_model_plot_draws_from_the_model_on_a_new_or_given_axes(
    calibrated, cdnow_calibration
) -> None:
    for name, draw in _plots(calibrated, cdnow_calibration).items():
        ax = draw(None)
        assert isinstance(ax, Axes) and ax.get_title() and ax.has_data(), name
        _, given = plt.subplots()
        assert draw(given) is given, name
        plt.close("all")


def test_a_grouped_model_draws_with_its_pooled_model(shop_scored) -> None:
    summary, model, _ = shop_scored
    from clv.models.groups import GroupedClvModel

    grouped = GroupedClvModel(by="channel", pooled=model, groups={}, pooled_groups={})
    assert plots.probability_alive_matrix_frame(grouped, summary).equals(
        plots.probability_alive_matrix_frame(model, summary)
    )


def test_period_transactions_expected_counts_match_a_simulation(calibrated, cdnow_calibration):
    """The exact expected counts (Pareto/NBD's by quadrature) against customers simulated
    from the same model at the same ages."""
    frame = plots.period_transactions_frame(calibrated, cdnow_calibration, max_frequency=4)
    assert frame["expected"].sum() == pytest.approx(cdnow_calibration.height, rel=1e-9)
    assert frame["observed"].sum() == cdnow_calibration.height
    from clv.data.rfm import rfm_summary

    T = cdnow_calibration["T"].to_numpy()
    counts = np.zeros(5)
    for periods in np.unique(np.round(T)):  # the ages, to the week
        n = int((np.round(T) == periods).sum()) * 20
        tx = calibrated.simulate(n, float(periods), seed=int(periods))
        end = tx["date"].min() + pl.duration(days=int(periods * 7) - 1)  # type: ignore[operator]
        s = rfm_summary(tx, observation_end=pl.select(end).item(), time_unit="W")
        counts += np.bincount(np.minimum(s["frequency"].to_numpy(), 4), minlength=5)
    share = counts / counts.sum()
    np.testing.assert_allclose(
        share, frame["expected"].to_numpy() / cdnow_calibration.height, atol=0.01
    )


def test_heterogeneity_frames_are_the_fitted_distributions(calibrated) -> None:
    """The densities against scipy.stats', up to their 99th percentile."""
    from scipy import stats

    frame = plots.heterogeneity_frame(calibrated, points=300)
    params = calibrated.purchase
    dropout = (
        stats.gamma(params["s"], scale=1 / params["beta"])
        if calibrated.purchase_model == "pareto_nbd"
        else stats.beta(params["a"], params["b"])
    )
    rate = stats.gamma(params["r"], scale=1 / params["alpha"])
    for quantity, law in (("purchase_rate", rate), ("dropout", dropout)):
        part = frame.filter(pl.col("quantity") == quantity)
        x = part["value"].to_numpy()
        assert part.height == 300 and x[0] > 0
        assert x[-1] == pytest.approx(law.ppf(0.99), rel=1e-9)
        np.testing.assert_allclose(part["density"].to_numpy(), law.pdf(x), rtol=1e-9)
        assert part["mean"][0] == pytest.approx(law.mean(), rel=1e-12)


def test_spend_distribution_frame_is_gamma_gamma(calibrated, cdnow_calibration) -> None:
    """The expected counts per bin against mean order values simulated from Gamma-Gamma at
    each repeat buyer's own frequency."""
    frame = plots.spend_distribution_frame(calibrated, cdnow_calibration, bins=10)
    buyers = cdnow_calibration.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    assert frame["observed"].sum() <= buyers.height
    p, q, v = (calibrated.gamma_gamma[k] for k in ("p", "q", "v"))
    rng = np.random.default_rng(3)
    x = np.repeat(buyers["frequency"].to_numpy(), 200)
    nu = rng.gamma(q, 1 / v, x.size)
    mean_value = rng.gamma(p * x, 1 / (nu * x))  # the mean of x orders of Gamma(p, nu)
    edges = np.append(frame["low"].to_numpy(), frame["high"][-1])
    simulated, _ = np.histogram(mean_value, edges)
    np.testing.assert_allclose(frame["expected"].to_numpy(), simulated / 200, rtol=0.05, atol=1)


# ---- a 1 x 3 grid: no text overlaps -------------------------------------------------------


def _texts(fig) -> list[tuple[str, object]]:
    """Every text drawn on the figure (titles, labels, tick labels within the view, legends,
    colorbar labels, annotations) with its box on the drawn canvas."""
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    hidden = set()  # tick labels past the view limits: made, but not drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            slack = (hi - lo) * 1e-9
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - slack <= tick.get_loc() <= hi + slack:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return [
        (t.get_text(), t.get_window_extent(renderer))
        for t in fig.findobj(Text)
        if t.get_visible()
        and t.get_text().strip()
        and t.get_figure(root=True) is fig
        and id(t) not in hidden
    ]


GRIDS = [
    ("probability_alive_matrix", "frequency_recency_matrix", "period_transactions"),
    ("calibration_purchases_vs_holdout", "cumulative_transactions", "incremental_transactions"),
    ("heterogeneity", "heterogeneity_dropout", "spend_distribution"),
    ("history_alive", "probability_alive_matrix", "heterogeneity"),
]


@pytest.mark.parametrize("names", GRIDS, ids=lambda names: "+".join(names))
def test_no_text_overlaps_in_a_one_by_three_grid(names, cdnow_calibration) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(cdnow_calibration, purchase_model="pareto_nbd")
    draws = _plots(model, cdnow_calibration)
    fig, axes = plt.subplots(1, 3, figsize=(18, 4), layout="constrained")  # 3 x (6 x 4) inches
    for name, ax in zip(names, axes, strict=True):
        draws[name](ax)
    fig.canvas.draw()
    texts = _texts(fig)
    assert len(texts) > 30
    overlaps = [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(texts, 2)
        if box_a.overlaps(box_b)  # type: ignore[attr-defined]
    ]
    assert overlaps == []
    edge = fig.bbox
    assert all(edge.x0 <= box.x0 and box.x1 <= edge.x1 for _, box in texts)  # type: ignore[attr-defined]


def test_the_limit_of_a_model_is_drawn(cdnow_calibration) -> None:
    """A dropout parameter at its limit (nobody seen to leave) still draws every plot."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(cdnow_calibration)
    at_limit = dataclasses.replace(
        model, purchase={**model.purchase, "a": 1e-8}, at_boundary={"bgnbd": ["a"]}
    )
    for name, draw in _plots(at_limit, cdnow_calibration).items():
        assert draw(None).has_data(), name


def test_a_plot_drawn_from_the_model_names_the_data_it_lacks(cdnow_model) -> None:
    from clv.errors import UsageError

    with pytest.raises(UsageError, match="period_transactions: pass summary= with the model"):
        plots.period_transactions(cdnow_model)
    with pytest.raises(UsageError, match="pass calibration_end= with the model"):
        plots.cumulative_transactions(cdnow_model, cdnow())
    with pytest.raises(UsageError, match="pass transactions= and customer_id="):
        plots.history_alive(cdnow_model)
    with pytest.raises(UsageError, match="pass the summary, or both max_frequency"):
        plots.probability_alive_matrix(cdnow_model)
    assert (
        plots.probability_alive_matrix_frame(cdnow_model, max_frequency=3, max_recency=5).height
        == 24
    )
