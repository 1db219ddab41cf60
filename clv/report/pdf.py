"""The report as a PDF to forward: headless Chromium prints the HTML report on A4.

The HTML's print stylesheet (``templates/clv_report/report.css``, ``@media print``) lays the
report out for the page: the first page first, tables that fit A4, figures kept whole, page
numbers in the bottom margin. Chromium runs with a fresh profile, no network services and no
header or footer of its own (those would print the file's path).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path

from clv.data.write import atomic_output
from clv.errors import ReportError

ENGINES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Executables tried, in order."""

TIMEOUT_S = 120.0
"""Seconds Chromium may take to print one report."""

MISSING = (
    "--pdf needs headless Chromium and none was found; install the chromium package "
    "(apt-get install chromium) or leave out --pdf"
)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-pdf-header-footer",
)


def find_engine() -> str:
    """The Chromium executable; :class:`ReportError` naming the package when there is none."""
    for name in ENGINES:
        found = shutil.which(name)
        if found:
            return found
    raise ReportError(MISSING)


def print_pdf(
    html_file: str | os.PathLike[str],
    pdf_file: str | os.PathLike[str],
    *,
    engine: str | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Path:
    """Print ``html_file`` to ``pdf_file`` (A4, its print stylesheet), atomically.

    Raises :class:`ReportError` with one line when Chromium is missing, fails or takes longer
    than ``timeout_s`` seconds.
    """
    source = Path(html_file).resolve()
    target = Path(pdf_file)
    chromium = engine or find_engine()
    with (
        tempfile.TemporaryDirectory(prefix="clv-chromium-") as profile,
        atomic_output(target, overwrite=True) as tmp,
    ):
        command = [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={Path(tmp).resolve()}",
            source.as_uri(),
        ]
        try:  # its own process group: a timeout or Ctrl-C stops its helper processes too
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as e:
            raise ReportError(f"{target.name}: Chromium could not start ({e})") from None
        try:
            _, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise ReportError(
                f"{target.name}: Chromium did not print the PDF in {timeout_s:g} s"
            ) from None
        finally:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.returncode != 0 or not Path(tmp).is_file() or Path(tmp).stat().st_size == 0:
            lines = [x for x in (stderr or "").splitlines() if x.strip()]
            why = lines[-1].strip() if lines else f"exit code {proc.returncode}"
            raise ReportError(f"{target.name}: Chromium could not print the PDF ({why})")
    return target
