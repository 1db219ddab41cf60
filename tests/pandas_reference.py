"""Independent pandas computations the tests compare clv against."""

import polars as pl


def pandas_orders(frame: pl.DataFrame):
    """The rows as pandas and one row per order: first date, amount, and its number ``n``."""
    df = frame.to_pandas()
    orders = (
        df.groupby(["customer_id", "order_id"])
        .agg(date=("date", "min"), amount=("amount", "sum"))
        .reset_index()
        .sort_values(["customer_id", "date", "order_id"])
    )
    orders["n"] = orders.groupby("customer_id").cumcount() + 1
    return df, orders
