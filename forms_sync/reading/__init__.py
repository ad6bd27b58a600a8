"""Reading typed answers (FORMAT.md §2): text in, typed values and per-cell error codes out."""
import pandas as pd


def no_codes(index) -> pd.Series:
    """An all-clear code column (None per cell; pandas would otherwise fill NaN)."""
    return pd.Series([None] * len(index), index=index, dtype=object)
