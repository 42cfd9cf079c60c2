"""The learner's own record: progress through modules and courses, and CPD certificates."""

from ._certificate import AttachedReflection, CertificateNotReady, render_certificate
from ._progress import (
    CourseProgress,
    ExerciseStatus,
    ModuleProgress,
    course_progress,
    learner_progress,
    module_progress,
    study_minutes,
)

__all__ = [
    "AttachedReflection",
    "CertificateNotReady",
    "CourseProgress",
    "ExerciseStatus",
    "ModuleProgress",
    "course_progress",
    "learner_progress",
    "module_progress",
    "render_certificate",
    "study_minutes",
]
