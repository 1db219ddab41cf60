"""A Spark DataFrame's rows brought to the driver batch by batch, in order, to be written.

:func:`batches` is how a per-customer table of a Spark analysis reaches a run's files
(:func:`clv.report.runs.save_run`): each part's Arrow batches, at most
``spark.sql.execution.arrow.maxRecordsPerBatch`` rows each, travel as Arrow IPC bytes and one
part (about :data:`PART_ROWS` rows) is on the driver at a time; the writer
(:func:`clv.data.write.write_frame`) adds each batch to one file. Neither ever holds the
whole table.
"""

import math
from collections.abc import Iterator, Sequence

import polars as pl
import pyarrow as pa

from clv.data.write import Batches
from clv.engines.spark import polars_types
from clv.engines.spark_session import Column, DataFrame

BLOB = "batch binary"
"""The schema of :func:`_as_ipc`'s rows: one Arrow IPC stream of one batch each."""


PART_ROWS = 100_000
"""Rows of one part brought to the driver (a Spark job each): its memory, and what
``spark.driver.maxResultSize`` (1 GiB by default) counts, do not grow with the shop."""


def batches(frame: DataFrame, *, height: int, order: Sequence[Column]) -> Batches:
    """``frame``'s ``height`` rows in the total ``order`` (end it with ``customer_id``), as
    :class:`Batches` of the one-machine types (:func:`clv.engines.spark.polars_types`); the
    first batch is empty (the schema, so a table without rows is still written with its
    columns). The rows are split by ranges of ``order`` into parts of about
    :data:`PART_ROWS` rows, each sorted, and the parts come in order."""
    parts = max(1, math.ceil(height / PART_ROWS))
    ordered = frame.repartitionByRange(parts, *order).sortWithinPartitions(*order)

    def read() -> Iterator[pl.DataFrame]:
        yield polars_types(pl.DataFrame(frame.limit(0).toArrow()))
        blobs = ordered.mapInArrow(_as_ipc, BLOB)
        for row in blobs.toLocalIterator(prefetchPartitions=False):
            with pa.ipc.open_stream(row[0]) as reader:
                yield polars_types(pl.DataFrame(reader.read_all()))

    return Batches(height, read)


def _as_ipc(parts: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Each batch of a partition as one row: its Arrow IPC stream."""
    for batch in parts:
        if batch.num_rows:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            yield pa.RecordBatch.from_pydict({"batch": [sink.getvalue().to_pybytes()]})
