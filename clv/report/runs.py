"""Run folders: the manifest, the files a run writes, and the index of all runs."""

from __future__ import annotations

import hashlib
import html
import json
import os
import sys
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from clv.data.write import atomic_output
from clv.data.write import write_json as io_write_json
from clv.errors import DataError
from clv.report.render import format_number, headings, mask_ids, utc_now, value_text


def _input_file(data: str) -> Path:
    path = Path(data).expanduser()
    if not path.is_file():
        raise DataError(f"{data}: file not found")
    return path.resolve()


def _input_fingerprint(data: str | None, notebook: str) -> dict[str, Any]:
    """Input file, size and sha256; for the embedded data, the file it is read from."""
    if data is None:
        if notebook == "loyalty_review":
            return {"path": None, "name": "synthetic shop (clv.datasets.synthetic_shop)"}
        from clv.data.datasets import _lifetimes_dir

        path = _lifetimes_dir() / "datasets" / "CDNOW_sample.txt"
        info = {"name": "CDNOW sample (embedded)"}
    else:
        path = Path(data)
        info = {"name": path.name}
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), **info, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages a report depends on (without importing them)."""
    names = [
        "clv",
        "polars",
        "pandas",
        "numpy",
        "scipy",
        "lifetimes",
        "matplotlib",
        "seaborn",
        "papermill",
        "nbconvert",
        "ipykernel",
    ]
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = None
    return out


def _section_timings(nb_file: Path) -> dict[str, float]:
    """Seconds per report section: papermill's cell durations summed under each heading."""
    import nbformat

    nb = nbformat.read(nb_file, as_version=4)
    out: dict[str, float] = {}
    section = "setup"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heads = [h for h in headings(cell.source) if h[0] == 2]
            if heads:
                section = heads[0][1]
            continue
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if isinstance(duration, int | float):
            out[section] = round(out.get(section, 0.0) + duration, 3)
    return out


# --------------------------------------------------------------------------- files


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write a run-folder JSON file atomically (see :func:`clv.io.write_json`)."""
    return io_write_json(path, obj, overwrite=True)


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` of a run atomically."""
    return write_json(Path(run_dir) / "manifest.json", manifest)


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's ``manifest.json`` (empty dict if missing or unreadable)."""
    try:
        return json.loads((Path(run_dir) / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def run_metadata(run_dir: str | os.PathLike[str] | None) -> pl.DataFrame:
    """Run facts for the methods section: run, time, input and its sha256, versions.

    No absolute path appears: the input is named by its file name.
    """
    m = read_manifest(run_dir) if run_dir is not None else {}
    inp = m.get("input") or {}
    rows = [
        ("run", m.get("run") or "interactive (not run by clv report)"),
        ("started (UTC)", m.get("started_at") or utc_now()),
        ("notebook", m.get("notebook") or "-"),
        ("input", inp.get("name") or "-"),
        ("input sha256", inp.get("sha256") or "-"),
        ("input bytes", value_text(inp["bytes"]) if "bytes" in inp else "-"),
    ]
    for name, v in (m.get("versions") or package_versions()).items():
        rows.append((f"version of {name}", v or "-"))
    return pl.DataFrame(rows, schema=["item", "value"], orient="row")


def save_run(
    run_dir: str | os.PathLike[str] | None,
    *,
    transactions: pl.DataFrame | None = None,
    scores: pl.DataFrame | None = None,
    at_risk: pl.DataFrame | None = None,
    model: Any = None,
    kpis: Mapping[str, Any] | None = None,
    id_salt: str | None = None,
) -> None:
    """Write a run's artefacts (called by the notebook); a no-op when ``run_dir`` is None.

    ``scores.parquet`` and ``at_risk.csv`` keep the real customer ids; ``at_risk.csv`` also
    has ``customer_ref``, the masked id the HTML shows, so a row of the report can be found.
    Row counts and headline numbers are merged into ``manifest.json``.
    """
    if run_dir is None:
        return
    from clv.data.write import write_frame

    run = Path(run_dir)
    counts: dict[str, int] = {}
    if transactions is not None:
        counts["transactions"] = transactions.height
    if scores is not None:
        write_frame(scores, run / "scores.parquet", overwrite=True)
        counts["customers"] = scores.height
    if at_risk is not None:
        if id_salt is not None and "customer_id" in at_risk.columns:
            at_risk = at_risk.with_columns(
                mask_ids(at_risk["customer_id"], id_salt).alias("customer_ref")
            )
        write_frame(at_risk, run / "at_risk.csv", overwrite=True)
        counts["at_risk"] = at_risk.height
    if model is not None:
        _save_model(model, run / "model.json")
    if kpis is not None:
        write_json(run / "kpis.json", kpis)
    manifest = read_manifest(run)
    manifest.setdefault("row_counts", {}).update(counts)
    if kpis is not None:
        manifest["headline"] = headline(kpis)
    write_manifest(run, manifest)


def _save_model(model: Any, path: Path) -> None:
    save = getattr(model, "save", None)
    if callable(save):
        with atomic_output(path, overwrite=True) as tmp:
            save(tmp)
        return
    fields = {k: getattr(model, k, None) for k in ("bgnbd", "gamma_gamma", "time_unit")}
    write_json(path, fields)


HEADLINE_KEYS = (
    "customers",
    "orders",
    "revenue",
    "repeat_customer_rate",
    "top_10pct_revenue_share",
    "predicted_clv_total",
)
"""Numbers copied from ``kpis.json`` into the manifest and shown in ``index.html``."""


def headline(kpis: Mapping[str, Any]) -> dict[str, Any]:
    """The headline subset of a KPI dict (missing keys left out)."""
    return {k: kpis[k] for k in HEADLINE_KEYS if k in kpis and kpis[k] is not None}


# --------------------------------------------------------------------------- index


def write_index(out_dir: str | os.PathLike[str]) -> Path:
    """Rebuild ``<out_dir>/index.html``: every run (newest first) with its status and numbers."""
    out = Path(out_dir)
    runs = []
    for manifest_file in out.glob("*/manifest.json"):
        m = read_manifest(manifest_file.parent)
        if m:
            runs.append((manifest_file.parent.name, m))
    runs.sort(key=lambda r: (r[1].get("started_at") or "", r[0]), reverse=True)
    e = html.escape
    rows = []
    for folder, m in runs:
        h = m.get("headline") or {}
        report = f"{folder}/{m.get('notebook', '')}.html"
        link = f'<a href="{e(report)}">report</a>' if (out / report).is_file() else "-"
        status = m.get("status", "?")
        rows.append(
            "<tr>"
            f'<td>{link} · <a href="{e(folder)}/">folder</a></td>'
            f"<td>{e(str(m.get('started_at') or ''))}</td>"
            f"<td>{e(str(m.get('notebook', '')))}</td>"
            f'<td class="status {e(status)}">{e(status)}</td>'
            f'<td class="error">{e(_no_paths(str(m.get("error") or ""), m))}</td>'
            f"<td>{e(str((m.get('input') or {}).get('name') or '-'))}</td>"
            f'<td class="num">{e(format_number(h.get("customers"), "{:,.0f}"))}</td>'
            f'<td class="num">{e(format_number(h.get("revenue"), "{:,.0f}"))}</td>'
            f'<td class="num">{e(format_number(h.get("repeat_customer_rate"), "{:.1%}"))}</td>'
            f'<td class="num">{e(format_number(h.get("top_10pct_revenue_share"), "{:.1%}"))}</td>'
            f'<td class="num">{e(format_number(h.get("predicted_clv_total"), "{:,.0f}"))}</td>'
            "</tr>"
        )
    page = _INDEX.format(
        rows="\n".join(rows) or '<tr><td colspan="11">no runs yet</td></tr>',
        count=len(runs),
        when=e(utc_now()),
    )
    target = out / "index.html"
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def _no_paths(text: str, manifest: Mapping[str, Any]) -> str:
    """``text`` without the input file's folder (no machine paths in an HTML page)."""
    path = (manifest.get("input") or {}).get("path")
    if path:
        text = text.replace(str(Path(path).parent) + os.sep, "")
    return text


_INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>clv report runs</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem;
  color: #1f2933; }}
.wrap {{ overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: .9rem; font-variant-numeric: tabular-nums; }}
th, td {{ padding: .3rem .6rem; border-bottom: 1px solid #d9dee3; text-align: left;
  white-space: nowrap; }}
th {{ background: #f4f6f8; }} td.num {{ text-align: right; }}
td.failed {{ color: #b42318; font-weight: 600; }} td.running {{ color: #9a6700; }}
td.succeeded {{ color: #1a7f37; }}
td.error {{ white-space: normal; min-width: 12rem; max-width: 24rem; overflow-wrap: anywhere; }}
</style>
</head>
<body>
<h1>clv report runs</h1>
<p>{count} run(s), newest first; updated {when} (UTC). Each folder keeps its notebook,
scores, at-risk list, model, KPIs and manifest.</p>
<div class="wrap"><table>
<thead><tr><th>open</th><th>started (UTC)</th><th>notebook</th><th>status</th><th>error</th>
<th>data</th><th>customers</th><th>revenue</th><th>repeat rate</th><th>top 10 % share</th>
<th>predicted CLV</th></tr></thead>
<tbody>
{rows}
</tbody>
</table></div>
</body>
</html>
"""
