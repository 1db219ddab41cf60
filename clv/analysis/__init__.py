"""The analysis layer: the one pipeline, segments, KPIs and holdout validation (frames and
numbers only; wording belongs to :mod:`clv.report`)."""
