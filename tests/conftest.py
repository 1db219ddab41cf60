"""Shared fixtures: the lifetimes package folder and fitted models, built once per session."""

from pathlib import Path

import pytest

from clv.datasets import _lifetimes_dir


@pytest.fixture(scope="session")
def lifetimes_dir() -> Path:
    return _lifetimes_dir()


@pytest.fixture(scope="session")
def shop():
    """A 4,000-customer synthetic shop (channels, loyalty, products, margin) and its truth."""
    from clv.datasets import synthetic_shop

    return synthetic_shop(4_000, seed=11)


@pytest.fixture(scope="session")
def shop_scored(shop):
    """The shop's RFM summary (weeks) and the scores of a model fitted on it (12 months)."""
    from clv.models import fit
    from clv.rfm import rfm_summary

    summary = rfm_summary(shop[0], time_unit="W")
    model = fit(summary)
    return summary, model, model.score(summary, horizon=12)


@pytest.fixture(scope="session")
def cdnow_calibration():
    """CDNOW sample: calibration summary (weeks, end 1997-09-30) with the 39-week holdout."""
    from clv.datasets import CDNOW_CALIBRATION_END, cdnow
    from clv.rfm import calibration_holdout

    return calibration_holdout(
        cdnow(),
        calibration_end=CDNOW_CALIBRATION_END,
        observation_end="1998-06-30",
        time_unit="W",
    )


@pytest.fixture(scope="session")
def cdnow_model(cdnow_calibration):
    """BG/NBD + Gamma-Gamma fitted (fast engine) on the CDNOW calibration summary."""
    from clv.models import fit

    return fit(cdnow_calibration)
