"""Import the model modules on a thread while the data are read.

SciPy, which the models need, takes ~0.6 s of one core to import; polars releases the
interpreter lock while it reads and summarizes, so the two overlap on a machine with a core
to spare. The caller starts it once the pipeline (polars, clv.data) is imported and joins it
before the models are used; in between the main thread only reads and summarizes, so the
two threads do not import the same modules.
"""

import contextlib
import importlib
import threading


def import_in_background(module: str) -> threading.Thread:
    """Start importing ``module`` on a daemon thread; join it before using the module. A
    failing import is left to fail again, with its message, where the module is used."""

    def load() -> None:
        with contextlib.suppress(Exception):
            importlib.import_module(module)

    thread = threading.Thread(target=load, name=f"import {module}", daemon=True)
    thread.start()
    return thread
