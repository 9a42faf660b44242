"""Late submissions: nbgrader's late-submission plugin, with the rule settings.ini's [late] names.

nbgrader's AssignLatePenalties preprocessor asks its plugin for a penalty whenever a submission's
timestamp is after the assignment's due date; both `tito nbgrader autograde` and plain
`nbgrader autograde` (through nbgrader_config.py) use this plugin.
"""
from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float


class LatePenalty(LateSubmissionPlugin):
    """none: recorded, no penalty; zero: the notebook scores 0; per_hour: `points_per_hour` off
    for every started hour late (never below zero: nbgrader caps a penalty at the score)."""

    penalty_method = Enum(("none", "zero", "per_hour"), default_value="none").tag(config=True)
    points_per_hour = Float(1.0).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        if total_seconds_late <= 0 or self.penalty_method == "none":
            return None
        if self.penalty_method == "zero":
            return score
        return min(score, math.ceil(total_seconds_late / 3600.0) * self.points_per_hour)
