"""Run folders: the manifest, the files a run writes, and the index of all runs."""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from clv.data.write import Batches, atomic_output, write_frame
from clv.data.write import write_json as io_write_json
from clv.errors import DataError
from clv.report.html_table import mask_ids
from clv.report.i18n import ENGLISH, ReportLocale
from clv.report.render import EMBEDDED_DATA, data_words, headings, utc_now


def _input_file(data: str, engine: str = "polars") -> str:
    """The data as the notebook, run in its run folder, reads it: a file's absolute path; on
    Spark also a folder of parts, or a URL (``s3a://``, ``abfss://``, ``dbfs:``) as given."""
    if engine == "spark" and _remote(data):
        return data
    path = Path(data).expanduser()
    if not (path.is_file() or (engine == "spark" and path.is_dir())):
        raise DataError(f"{data}: file not found")
    return str(path.resolve())


def _remote(data: str) -> bool:
    return "://" in data or data.startswith("dbfs:")


def _input_fingerprint(data: str | None, notebook: str) -> dict[str, Any]:
    """Input file, size and sha256; for the embedded data, the file it is read from."""
    if data is None:
        if notebook == "loyalty_review":
            return {"path": None, "name": EMBEDDED_DATA["synthetic_shop"]}
        from clv.data.datasets import _lifetimes_dir

        path = _lifetimes_dir() / "datasets" / "CDNOW_sample.txt"
        info = {"name": EMBEDDED_DATA["cdnow"]}
    else:
        path = Path(data)
        info = {"name": path.name or data}
        if _remote(data) or path.is_dir():  # read by Spark where it lies: not hashed here
            return {"path": data, **info}
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


@contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` itself (``flock`` of the directory) for the block.

    Serialises the writers of a manifest (the runner, its heartbeat, the notebook's
    :func:`save_run`) and of a folder's ``index.html``. The lock dies with its process, so a
    killed run never leaves it taken, and no lock file is left behind.
    """
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def update_manifest(
    run_dir: str | os.PathLike[str], change: Callable[[dict[str, Any]], object]
) -> dict[str, Any]:
    """Read, ``change`` in place and rewrite a run's manifest, under the run folder's lock."""
    with folder_lock(run_dir):
        manifest = read_manifest(run_dir)
        change(manifest)
        write_manifest(Path(run_dir), manifest)
    return manifest


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's ``manifest.json`` (empty dict if missing, unreadable or not a JSON object)."""
    try:
        doc = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def run_metadata(
    run_dir: str | os.PathLike[str] | None, *, locale: ReportLocale = ENGLISH
) -> pl.DataFrame:
    """Run facts for the methods section: run, time, input and its sha256, versions, in
    ``locale``'s language.

    No absolute path appears: the input is named by its file name.
    """
    _ = locale.gettext
    m = read_manifest(run_dir) if run_dir is not None else {}
    inp = m.get("input") or {}
    rows = [
        (_("run"), m.get("run") or _("interactive (not run by clv report)")),
        (_("started (UTC)"), m.get("started_at") or utc_now()),
        (_("notebook"), m.get("notebook") or "-"),
        (_("input"), data_words(inp.get("name") or "-", locale)),
        (_("input sha256"), inp.get("sha256") or "-"),
        (_("input bytes"), locale.integer(inp["bytes"]) if "bytes" in inp else "-"),
    ]
    for name, v in (m.get("versions") or package_versions()).items():
        rows.append((_("version of {package}").format(package=name), v or "-"))
    return pl.DataFrame(rows, schema=["item", "value"], orient="row")


def save_run(
    run_dir: str | os.PathLike[str] | None,
    *,
    transactions: pl.DataFrame | int | None = None,
    scores: pl.DataFrame | Batches | None = None,
    at_risk: pl.DataFrame | Batches | None = None,
    lost: pl.DataFrame | Batches | None = None,
    model: Any = None,
    kpis: Mapping[str, Any] | None = None,
    id_salt: str | None = None,
    quality: Any = None,
    findings: list[Mapping[str, Any]] | None = None,
) -> None:
    """Write a run's artefacts (called by the notebook); a no-op when ``run_dir`` is None.

    ``quality`` (:class:`clv.data.quality.Quality`, what reading found) goes into the
    manifest as ``data_quality``. ``findings``: the first page's finding records
    (:func:`clv.report.first_page.records`), written to ``findings.json`` as
    ``{"findings": [...]}``.

    ``scores.parquet``, ``at_risk.csv`` and ``lost.csv`` (``lost``: the win-back list of
    high-value customers already gone, :attr:`clv.analysis.results.Analysis.lost`) keep the
    real customer ids and, given ``id_salt``, ``customer_ref``: the masked reference the HTML
    shows (the same in every run of a runs folder), so a row of the report can be found. Row
    counts and headline numbers are merged into ``manifest.json``. ``transactions``: the
    rows, or their count; a table given as :class:`clv.data.write.Batches` (an analysis
    whose rows stay where the data lives, :meth:`clv.analysis.results.Analysis.rows`) is
    written batch by batch, into the same file.
    """
    if run_dir is None:
        return
    run = Path(run_dir)
    counts: dict[str, int] = {}
    if transactions is not None:
        counts["transactions"] = (
            transactions if isinstance(transactions, int) else transactions.height
        )
    for table, name, count in (
        (scores, "scores.parquet", "customers"),
        (at_risk, "at_risk.csv", "at_risk"),
        (lost, "lost.csv", "lost"),
    ):
        if table is not None:
            write_frame(_with_refs(table, id_salt), run / name, overwrite=True)
            counts[count] = table.height
    if model is not None:
        _save_model(model, run / "model.json")
    if kpis is not None:
        write_json(run / "kpis.json", kpis)
    if findings is not None:
        write_findings(run, findings)

    def record(manifest: dict[str, Any]) -> None:
        manifest.setdefault("row_counts", {}).update(counts)
        if kpis is not None:
            manifest["headline"] = headline(kpis)
        if quality is not None:
            manifest["data_quality"] = dataclasses.asdict(quality)

    update_manifest(run, record)


def _with_refs(frame: pl.DataFrame | Batches, id_salt: str | None) -> pl.DataFrame | Batches:
    """``frame`` with ``customer_ref`` (the masked reference) after ``customer_id``."""
    if isinstance(frame, Batches):
        return frame.map(lambda batch: _with_ref(batch, id_salt))
    return _with_ref(frame, id_salt)


def _with_ref(frame: pl.DataFrame, id_salt: str | None) -> pl.DataFrame:
    if id_salt is None or "customer_id" not in frame.columns:
        return frame
    refs = mask_ids(frame["customer_id"], id_salt).alias("customer_ref")
    at = frame.columns.index("customer_id") + 1
    return frame.insert_column(at, refs) if "customer_ref" not in frame.columns else frame


FINDINGS_FILE = "findings.json"


def write_findings(
    run_dir: str | os.PathLike[str] | None, records: Sequence[Mapping[str, Any]]
) -> None:
    """Add finding records (``{"id", "numbers", "basis", "table", "text"}``: each sentence of
    the report with its numbers) to the run's ``findings.json`` (``{"findings": [...]}``, in
    the order written); records replace the earlier ones of the same ``id``s. A no-op when
    ``run_dir`` is None."""
    if run_dir is None or not records:
        return
    path = Path(run_dir) / FINDINGS_FILE
    with folder_lock(run_dir):
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))["findings"]
        except (OSError, ValueError, KeyError, TypeError):
            existing = []
        ids = {r["id"] for r in records}
        kept = [r for r in existing if isinstance(r, dict) and r.get("id") not in ids]
        write_json(path, {"findings": [*kept, *records]})


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
