"""papermill's notebook engine, saving the running notebook every few seconds, not every cell.

papermill writes the whole notebook, figures included, when each cell starts and ends: 138
writes for the customer-value report (2.7 s of the runner process's time, measured on a busy
machine), while the runner's threads are still computing the analysis the cells show. Here the
notebook is written at most every :data:`SAVE_EVERY_S` seconds while it runs, and when it ends,
whichever way; the run folder still keeps a partial notebook of a run killed on the way.
"""

from __future__ import annotations

from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager

NAME = "clv"
"""The name the engine is registered under with papermill."""

SAVE_EVERY_S = 5.0
"""Seconds between two writes of a running notebook."""


class _Saves(NotebookExecutionManager):
    """papermill's bookkeeping, writing the notebook at most every :data:`SAVE_EVERY_S`."""

    _last_written: float | None = None

    def save(self, **kwargs: Any) -> None:
        now = self.now().timestamp()
        if self._last_written is not None and now - self._last_written < SAVE_EVERY_S:
            return
        self._last_written = now
        super().save(**kwargs)

    def notebook_complete(self, **kwargs: Any) -> None:
        self._last_written = None  # the last write is never skipped
        super().notebook_complete(**kwargs)


class Engine(NBClientEngine):
    """papermill's nbclient engine with :class:`_Saves`."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        nb_man = _Saves(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


def register() -> None:
    """Make the engine available to papermill as :data:`NAME`."""
    from papermill.engines import papermill_engines

    papermill_engines.register(NAME, Engine)
