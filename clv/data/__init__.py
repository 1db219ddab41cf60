"""The data layer: read and validate transactions, RFM summaries, embedded data sets."""
