"""model.json: the document a :class:`~clv.models.model.ClvModel` saves and loads.

One key per fitted sub-model (``"bgnbd"``, ``"mbgnbd"`` or ``"pareto_nbd"`` with its
parameters, and ``"gamma_gamma"``), ``"purchase_model"`` naming the purchase model,
standard errors (null at a boundary), ``"at_boundary"``, ``"diagnostics"`` (``code``,
``message``, ``values``) and, after ``purchase_model="auto"``, the ``"comparison"`` table. Format 1
(clv 0.1, BG/NBD only) loads as BG/NBD. A sub-model fitted at a limit
(:mod:`clv.models.limits`) is written with its name and the limit's parameters, e.g.
``"bgnbd": {"limit": "poisson_no_dropout", "rate": 0.03}`` or ``"gamma_gamma": {"limit":
"equal_spend", "p": 4.1, "nu": 0.13}``, and ``"limit_tests"`` records the tests that chose it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from clv.data.rfm import TIME_UNIT_DAYS
from clv.errors import ModelError
from clv.models.gamma_gamma import GAMMA_GAMMA_PARAMS, SPEND_LIMITS
from clv.models.optimize import Params
from clv.models.purchase import PURCHASE_LIMITS, PURCHASE_MODELS

FORMAT = "clv-model"
FORMAT_VERSION = 2


def clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def to_document(model: Any) -> dict[str, Any]:
    """The JSON document of a fitted ``ClvModel``."""
    body = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "purchase_model": model.purchase_model,
        model.purchase_model: _block(model, model.purchase_model, model.purchase),
        "gamma_gamma": _block(model, "gamma_gamma", model.gamma_gamma),
        "standard_errors": model.standard_errors,
        "at_boundary": model.at_boundary,
        "log_likelihood": model.log_likelihood,
        "diagnostics": list(model.diagnostics),
        "comparison": model.comparison,
        "time_unit": model.time_unit,
        "observation_end": model.observation_end,
        "n_customers": model.n_customers,
        "n_repeat_buyers": model.n_repeat_buyers,
        "n_excluded_gamma_gamma": model.n_excluded_gamma_gamma,
        "excluded_gamma_gamma_reason": model.excluded_gamma_gamma_reason,
        "frequency_monetary_correlation": model.frequency_monetary_correlation,
        "penalizer": model.penalizer,
        "gg_penalizer": model.gg_penalizer,
        "engine": model.engine,
        "versions": model.versions,
        "data_fingerprint": model.data_fingerprint,
        "warnings": list(model.warnings),
        "convergence": model.convergence,
        "covariance_log": model.covariance_log,
        "limit_tests": model.limit_tests,
    }
    return clean(body)


def _block(model: Any, key: str, params: Params) -> dict[str, Any]:
    """A sub-model's parameters, led by ``"limit"`` when it was fitted at one."""
    return {"limit": model.limits[key], **params} if key in model.limits else dict(params)


def from_document(doc: Any, path: Path | str) -> dict[str, Any]:
    """Keyword arguments of ``ClvModel`` from a document; ``ModelError`` naming ``path``."""
    if not isinstance(doc, dict):
        raise ModelError(f"{path}: not a clv model file (a JSON object is expected)")
    name = doc.get("purchase_model", "bgnbd")
    if name not in PURCHASE_MODELS:
        raise ModelError(
            f"{path}: key 'purchase_model' must be one of {', '.join(PURCHASE_MODELS)}; "
            "refit with clv fit"
        )
    limits = {
        key: doc[key]["limit"]
        for key in (name, "gamma_gamma")
        if isinstance(doc.get(key), dict) and "limit" in doc[key]
    }
    known: dict[str, dict[str, Any]] = {name: PURCHASE_LIMITS[name], "gamma_gamma": SPEND_LIMITS}
    for key, limit in limits.items():
        if limit not in known[key]:
            raise ModelError(
                f"{path}: key {key!r} has limit {limit!r}, not one of "
                f"{', '.join(known[key])}; refit with clv fit"
            )
    required = {
        name: PURCHASE_LIMITS[name][limits[name]].params
        if name in limits
        else PURCHASE_MODELS[name].params,
        "gamma_gamma": SPEND_LIMITS[limits["gamma_gamma"]].params
        if "gamma_gamma" in limits
        else GAMMA_GAMMA_PARAMS,
    }
    for key, names in required.items():
        block = doc.get(key)
        if not isinstance(block, dict) or not all(
            isinstance(block.get(n), int | float)
            and not isinstance(block.get(n), bool)
            and math.isfinite(block[n])
            and block[n] > 0
            for n in names
        ):
            raise ModelError(
                f"{path}: key {key!r} must hold positive numbers {', '.join(names)}; "
                "refit with clv fit"
            )
    if doc["gamma_gamma"].get("q", math.inf) <= 1:  # the mean spend p v / (q - 1) (FHL
        # 2005b), theta / (q - 1) at the steady-spend limit, needs q > 1
        raise ModelError(f"{path}: Gamma-Gamma q must be above 1; refit with clv fit")
    if not isinstance(doc.get("time_unit"), str) or doc["time_unit"] not in TIME_UNIT_DAYS:
        raise ModelError(f"{path}: key 'time_unit' must be D, W or M; refit with clv fit")
    se = doc.get("standard_errors") or {}
    nan = float("nan")

    def floats(block: Any, names: tuple[str, ...]) -> Params:
        block = block if isinstance(block, dict) else {}
        return {n: float(block[n]) if block.get(n) is not None else nan for n in names}

    ll = doc.get("log_likelihood") or {}
    edges = doc.get("at_boundary") or {}
    diagnostics = [
        {
            "code": str(d.get("code", "")),
            "message": str(d.get("message", "")),
            "values": dict(d["values"]) if isinstance(d.get("values"), dict) else {},
        }
        for d in doc.get("diagnostics") or []
        if isinstance(d, dict)
    ]
    if not diagnostics:  # format 1 kept its warnings as text
        diagnostics = [
            {"code": "warning", "message": str(w), "values": {}} for w in doc.get("warnings") or []
        ]
    return {
        "purchase_model": name,
        "purchase": {n: float(doc[name][n]) for n in required[name]},
        "gamma_gamma": {n: float(doc["gamma_gamma"][n]) for n in required["gamma_gamma"]},
        "standard_errors": {
            name: floats(se.get(name), required[name]),
            "gamma_gamma": floats(se.get("gamma_gamma"), required["gamma_gamma"]),
        },
        "limits": limits,
        "limit_tests": {
            k: [dict(t) for t in v if isinstance(t, dict)]
            for k, v in (doc.get("limit_tests") or {}).items()
            if isinstance(v, list)
        },
        "at_boundary": {k: [str(p) for p in edges.get(k) or []] for k in (name, "gamma_gamma")},
        "log_likelihood": {
            k: float(ll[k]) if ll.get(k) is not None else nan for k in (name, "gamma_gamma")
        },
        "diagnostics": diagnostics,
        "comparison": doc.get("comparison"),
        "time_unit": doc["time_unit"],
        "observation_end": doc.get("observation_end"),
        "n_customers": int(doc.get("n_customers") or 0),
        "n_repeat_buyers": int(doc.get("n_repeat_buyers") or 0),
        "n_excluded_gamma_gamma": int(doc.get("n_excluded_gamma_gamma") or 0),
        "excluded_gamma_gamma_reason": str(doc.get("excluded_gamma_gamma_reason") or ""),
        "frequency_monetary_correlation": doc.get("frequency_monetary_correlation"),
        "penalizer": float(doc.get("penalizer") or 0.0),
        "gg_penalizer": float(doc.get("gg_penalizer") or 0.0),
        "engine": str(doc.get("engine") or "unknown"),
        "versions": dict(doc.get("versions") or {}),
        "data_fingerprint": str(doc.get("data_fingerprint") or ""),
        "convergence": {
            k: {
                "gradient_norm": nan
                if v.get("gradient_norm") is None
                else float(v["gradient_norm"]),
                "message": str(v.get("message", "")),
            }
            for k, v in (doc.get("convergence") or {}).items()
            if isinstance(v, dict)
        },
        "covariance_log": {
            k: [[float(c) if c is not None else nan for c in row] for row in v]
            for k, v in (doc.get("covariance_log") or {}).items()
            if isinstance(v, list) and all(isinstance(row, list) for row in v)
        },
    }
