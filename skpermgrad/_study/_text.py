"""User strings (column, category and file names) written safely: into
Markdown, into CSV files a spreadsheet may open, and onto a terminal."""

import re

import pandas as pd

# Markdown's punctuation that can start markup (emphasis, links, tables,
# headings, lists, code, HTML entities), escaped with a backslash
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&])")
# a spreadsheet reads a cell starting with one of these as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def markdown(text) -> str:
    """``text`` as literal Markdown: each markup character backslash-escaped
    (``<`` and ``&`` too, so no HTML is read), line breaks as spaces."""
    one_line = _CONTROL.sub(" ", str(text))
    return _MARKDOWN.sub(r"\\\1", one_line)


def printable(text) -> str:
    """``text`` for a terminal: control characters (escape sequences, line
    breaks) written as their ``\\x..`` escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def csv_cell(value):
    """A string value that a spreadsheet would run as a formula, prefixed
    with ``'`` (the usual CSV-injection rule); anything else as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_csv(frame) -> pd.DataFrame:
    """``frame`` with :func:`csv_cell` applied to its column names and to the
    cells of its text columns (numbers, negative ones too, stay numbers)."""
    frame = frame.rename(columns=csv_cell)
    for column in frame.columns:
        if frame[column].dtype == object or isinstance(
            frame[column].dtype, pd.StringDtype
        ):
            frame[column] = frame[column].map(csv_cell, na_action="ignore")
    return frame
