"""Scoring many forms at once: reverse keys, person-mean imputation, invalid forms.

Works on a table with one row per completed form and one column per item (numbers, ``NaN`` for a
missing or "does not apply" answer). Vectorised with numpy so 10,000 learners score in milliseconds.
numpy and pandas are imported inside the functions so that loading a key (for a questionnaire widget in a
learner's kernel) does not pull it in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._models import Instrument

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MISSING_SUFFIX = "_missing"


def _item_matrix(instrument: Instrument, answers: pd.DataFrame) -> np.ndarray:
    import numpy as np

    unknown = [c for c in instrument.items if c not in answers.columns]
    if unknown:
        raise KeyError(f"{instrument.id}: no column for items {', '.join(unknown)}")
    values: np.ndarray = (
        answers.loc[:, list(instrument.items)].to_numpy(dtype=float, na_value=np.nan).copy()
    )
    present = ~np.isnan(values)
    low, high = instrument.response.min, instrument.response.max
    bad = present & ((values < low) | (values > high) | (np.floor(values) != values))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{instrument.id}: item {instrument.items[col]} has {values[row, col]:g} in row {row},"
            f" outside {low}..{high} (read data through courseware.analytics, which reports such"
            " values)"
        )
    return values


def reverse_keyed(instrument: Instrument, answers: pd.DataFrame) -> pd.DataFrame:
    """The item columns with reverse-keyed items turned round (``min + max - value``)."""
    import numpy as np
    import pandas as pd

    values = _item_matrix(instrument, answers)
    flip = np.array([item in instrument.reverse for item in instrument.items])
    values[:, flip] = instrument.response.min + instrument.response.max - values[:, flip]
    return pd.DataFrame(values, index=answers.index, columns=list(instrument.items))


def score(instrument: Instrument, answers: pd.DataFrame) -> pd.DataFrame:
    """Each scale's score for each row, and how many of its items were missing.

    Columns: ``<scale>`` (``NaN`` when more items are missing than the scale's rule allows) and
    ``<scale>_missing``. A missing item takes the mean of the respondent's other items on that
    scale (after reverse keying), so a sum stays on the scale's full range.
    """
    import numpy as np
    import pandas as pd

    keyed = reverse_keyed(instrument, answers).to_numpy()
    position = {item: i for i, item in enumerate(instrument.items)}
    columns: dict[str, np.ndarray] = {}
    for scale in instrument.scales:
        block = keyed[:, [position[i] for i in scale.items]]
        answered = ~np.isnan(block)
        n_answered = answered.sum(axis=1)
        n_missing = len(scale.items) - n_answered
        total = np.where(answered, block, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n_answered
        value = mean if instrument.spec.score == "mean" else total + n_missing * mean
        valid = (n_missing <= scale.max_missing) & (n_answered > 0)
        columns[scale.id] = np.where(valid, value, np.nan)
        columns[scale.id + MISSING_SUFFIX] = n_missing
    return pd.DataFrame(columns, index=answers.index)
