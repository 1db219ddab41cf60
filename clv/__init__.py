"""clv: customer-value analytics from a transactions table."""

__version__ = "0.1.0"
