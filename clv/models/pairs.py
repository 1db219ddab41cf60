"""Weighted rows grouped into distinct (frequency, T) and (frequency, recency) pairs.

The likelihoods of BG/NBD, MBG/NBD and Pareto/NBD are, per customer, the log of a sum of
two terms: one depends on (x, T) only, the other on (x, t_x) only. There are far fewer
distinct pairs than distinct rows (36 k vs 477 k on 1 M customers), so the expensive parts
(powers, logs, hypergeometric functions) are computed per pair, gathered per row, and the
per-row weights summed back per pair (``bincount``) for the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from clv.models.optimize import dot

SMALLEST_SUM = 1e-300
"""Below it a row's sum of exponentials is recomputed in logs (it would underflow)."""


@dataclass(frozen=True)
class PairRows:
    """Weighted rows prepared once per fit.

    With ``repeat_only`` (BG/NBD, whose one-time buyers are alive for sure), one-time
    buyers are only collapsed by T into ``w_once``; all other rows are indexed into their
    distinct (x, T) and (x, t_x) pairs (MBG/NBD and Pareto/NBD pair every row).
    """

    xs: np.ndarray  # distinct frequencies
    wx: np.ndarray  # customers per distinct frequency
    Tu: np.ndarray  # distinct T
    Ru: np.ndarray  # distinct recency
    w_once: np.ndarray  # unpaired customers per distinct T
    xt_x: np.ndarray  # distinct (x, T) pairs of the paired rows: index into xs and Tu
    xt_t: np.ndarray
    xr_x: np.ndarray  # distinct (x, t_x) pairs of the paired rows: index into xs and Ru
    xr_r: np.ndarray
    w_xt: np.ndarray  # customers per (x, T) pair
    row_xt: np.ndarray  # paired rows: index into the pairs; weights
    row_xr: np.ndarray
    w: np.ndarray
    wsum: float
    xr_counts: np.ndarray | None = None  # rows per (x, t_x) pair, and where each pair's
    xr_starts: np.ndarray | None = None  # rows start, when each pair's rows are together
    # (rows sorted by frequency, then recency, as distinct_bgnbd_rows gives them)

    @classmethod
    def of(
        cls, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, *, repeat_only: bool
    ) -> PairRows:
        """Group weighted rows; ``repeat_only`` pairs only the rows with ``x > 0``."""
        x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
        xs, x_all = _unique_inverse(x)
        Tu, T_all = np.unique(T, return_inverse=True)
        Ru, R_all = np.unique(tx, return_inverse=True)
        pos = x > 0 if repeat_only else np.ones(x.size, dtype=bool)
        xi = x_all[pos].astype(np.int64)
        xt, row_xt = np.unique(xi * Tu.size + T_all[pos], return_inverse=True)
        xr, row_xr = _unique_inverse(xi * Ru.size + R_all[pos])
        together = row_xr.size > 0 and bool(np.all(row_xr[1:] >= row_xr[:-1]))
        counts = np.bincount(row_xr, minlength=xr.size) if together else None
        return cls(
            xs=xs,
            wx=np.bincount(x_all, weights=w, minlength=xs.size),
            Tu=Tu,
            Ru=Ru,
            w_once=np.bincount(T_all[~pos], weights=w[~pos], minlength=Tu.size),
            xt_x=xt // Tu.size,
            xt_t=xt % Tu.size,
            xr_x=xr // Ru.size,
            xr_r=xr % Ru.size,
            w_xt=np.bincount(row_xt, weights=w[pos], minlength=xt.size),
            row_xt=row_xt,
            row_xr=row_xr,
            w=w[pos],
            wsum=float(np.sum(w)),
            xr_counts=counts,
            xr_starts=None if counts is None else np.cumsum(counts) - counts,
        )

    def rescaled(self, scale: float) -> PairRows:
        """The same rows with recency and T multiplied by ``scale`` (the grouping is kept)."""
        return replace(self, Tu=self.Tu * scale, Ru=self.Ru * scale)

    def pair_sums(self, per_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``per_row`` summed per (x, T) pair and per (x, t_x) pair."""
        per_xt = np.bincount(self.row_xt, weights=per_row, minlength=self.xt_x.size)
        if self.xr_starts is None:
            return per_xt, np.bincount(self.row_xr, weights=per_row, minlength=self.xr_x.size)
        return per_xt, np.add.reduceat(per_row, self.xr_starts)  # runs: faster than bincount

    def per_row_xr(self, per_pair: np.ndarray) -> np.ndarray:
        """A value per (x, t_x) pair, for each paired row (``per_pair[row_xr]``)."""
        if self.xr_counts is None:
            return per_pair[self.row_xr]
        return np.repeat(per_pair, self.xr_counts)


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``, without sorting when ``values`` are
    sorted already (rows from :func:`clv.models.bgnbd.distinct_bgnbd_rows` are sorted by
    frequency, then recency)."""
    if values.size and bool(np.all(values[1:] >= values[:-1])):
        first = np.empty(values.size, dtype=bool)
        first[0] = True
        np.not_equal(values[1:], values[:-1], out=first[1:])
        return values[first], np.cumsum(first) - 1
    return np.unique(values, return_inverse=True)


def logaddexp_and_share(A3: np.ndarray, A4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``ln(e^A3 + e^A4)`` and the share ``e^A4 / (e^A3 + e^A4)`` with one exp and one log.

    ``max(A3, A4) + ln(1 + e^-|A4-A3|)``: as ``np.logaddexp`` but ``ln`` instead of
    ``log1p`` (an absolute error below 2.2e-16 per row, far under the rounding of the sum)
    and the exponential shared with ``expit(A4 - A3)``; half the cost of both.
    """
    diff = A4 - A3
    e = np.exp(-np.abs(diff))
    one_e = 1.0 + e
    return np.maximum(A3, A4) + np.log(one_e), np.where(diff > 0, 1.0, e) / one_e


def pair_log_sum(
    A3: np.ndarray, A4: np.ndarray, d: PairRows
) -> tuple[float, np.ndarray, np.ndarray]:
    """``sum w ln(e^A3 + e^A4)`` over the paired rows, and the customers on each branch:
    ``sum w e^A3 / (e^A3 + e^A4)`` per (x, T) pair and ``sum w e^A4 / (...)`` per (x, t_x)
    pair (what the gradient needs).

    ``A3`` is given per (x, T) pair, ``A4`` per (x, t_x) pair. Both are exponentiated per
    pair after subtracting the largest of either for their frequency (so nothing
    overflows); a row then costs one log and one division (``w / total``, summed per pair
    and multiplied back by the pair's exponential). When some row's sum is not a normal
    float (exponents spread by more than ~690, only at extreme parameters) the rows go
    through :func:`logaddexp_and_share`.
    """
    shift = np.full(d.xs.size, -np.inf)
    np.maximum.at(shift, d.xt_x, A3)
    np.maximum.at(shift, d.xr_x, A4)
    e3 = np.exp(A3 - shift[d.xt_x])
    e4 = np.exp(A4 - shift[d.xr_x])
    total = e3[d.row_xt] + d.per_row_xr(e4)
    if total.min() > SMALLEST_SUM:  # False for NaN
        u3, u4 = d.pair_sums(d.w / total)
        log_sum = dot(d.w, np.log(total)) + dot(d.w_xt, shift[d.xt_x])
        return log_sum, e3 * u3, e4 * u4
    log_rows, share4 = logaddexp_and_share(A3[d.row_xt], A4[d.row_xr])
    on4 = d.w * share4
    s3, _ = d.pair_sums(d.w - on4)
    _, s4 = d.pair_sums(on4)
    return dot(d.w, log_rows), s3, s4
