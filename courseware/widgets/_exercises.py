"""Which widget shows which kind of exercise, and the options a notebook may pass to it."""

from __future__ import annotations

from typing import Any

from ..content import EXERCISE_OPTIONS, ExerciseSpec
from ._choices import ComposeResponse, ResponseChoice
from ._common import Context
from ._cues import CueSpotting
from ._exercise import ExerciseView
from ._likert import LikertScale
from ._writing import CloseReading, ParallelChart, TimedWrite

VIEWS: dict[str, type[ExerciseView]] = {
    "response-choice": ResponseChoice,
    "compose-response": ComposeResponse,
    "cue-spotting": CueSpotting,
    "likert": LikertScale,
    "timed-write": TimedWrite,
    "close-reading": CloseReading,
    "parallel-chart": ParallelChart,
}


def exercise_view(spec: ExerciseSpec, context: Context, **options: Any) -> ExerciseView:
    """The widget for ``spec``; unknown options are an error naming the ones allowed."""
    allowed = EXERCISE_OPTIONS.get(spec.kind, frozenset())
    unknown = sorted(set(options) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise TypeError(
            f"exercise {spec.id!r} ({spec.kind}) takes no option {unknown[0]!r} (options: {known})"
        )
    return VIEWS[spec.kind](spec, context, **options)
