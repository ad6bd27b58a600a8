"""`_submissions.answers` (sources.base.answers_json): per row exactly json.dumps of the raw
answers with the compact separators, for any text (quotes, backslashes, control characters,
non-ASCII), missing cells and non-text columns, and it reads back to the same answers."""
from __future__ import annotations

import json

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from forms_sync.sources.base import ANSWERS_JSON, answers_json

cells = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(['"', "\\", "\x00", "\n", "🌧️", "1.234,5", ""]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=30), st.booleans())
def test_answers_are_compact_json_of_each_row(rows, as_object):
    columns = ["region", "period", "ä \"x\""]
    frame = pd.DataFrame(rows, columns=columns, dtype=object if as_object else "str")
    if not as_object:
        frame = frame.where(pd.DataFrame(rows, columns=columns).notna(), None).astype("str")
    got = answers_json(frame, columns).tolist()
    want = [json.dumps({c: (None if pd.isna(v) else v) for c, v in zip(columns, row)}, **ANSWERS_JSON)
            for row in frame.astype(object).itertuples(index=False)]
    assert got == want
    assert [json.loads(g) for g in got] == [json.loads(w) for w in want]


def test_a_plain_text_row_has_no_spaces_between_answers():
    frame = pd.DataFrame({"region": ["32.04"], "period": ["November 2026"], "f": ["1.234"]}, dtype="str")
    assert answers_json(frame, ["region", "period", "f"]).tolist() == [
        '{"region":"32.04","period":"November 2026","f":"1.234"}']
