"""Pseudonyms for analysis tables: the stdlib-only :mod:`courseware._pseudonym`, shared with xAPI."""

from .._pseudonym import KEY_ENV, Pseudonyms, normalise_learner

__all__ = ["KEY_ENV", "Pseudonyms", "normalise_learner"]
