"""nbgrader configuration for the TinyTorch course.

Values an instructor changes live in settings.ini (read here with configparser), so plain
`nbgrader` commands from the repository root and `tito nbgrader ...` agree.
"""
import configparser
import os
from pathlib import Path

_root = Path(__file__).resolve().parent
_settings = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
_settings.read(_root / "settings.ini")

c = get_config()  # noqa: F821 (provided by nbgrader's config loader)

c.CourseDirectory.course_id = _settings.get("course", "id", fallback="tinytorch")
_course_dir = (_root / _settings.get("nbgrader", "course_dir", fallback="course")).resolve()
c.CourseDirectory.root = str(_course_dir)
# A course-local exchange, so the formgrader's release/collect buttons work on one machine
# (and it shows no "exchange directory does not exist" warning). tito's own release/collect
# don't use it. In the classroom hub the instructor's server is given the hub's exchange.
c.Exchange.root = os.environ.get("TINYTORCH_EXCHANGE") or str(_course_dir / "exchange")
# Module sources (*_dev.py) never travel into a student release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*_dev.py"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ExecutePreprocessor.timeout = _settings.getint("grading", "cell_timeout", fallback=30)

# Submissions as instructors and students see them (feedback, the formgrader's submission view):
# student HTML sanitised, hidden tests' code kept out of feedback, MathJax inlined (no CDN).
from tito.core.sanitize import configure as _configure_views  # noqa: E402

_configure_views(c)
# Late submissions: nbgrader's AssignLatePenalties asks this plugin (settings.ini [late]).
c.AssignLatePenalties.plugin_class = "tito.core.late.LatePenalty"
c.LatePenalty.penalty_method = _settings.get("late", "penalty", fallback="none")
c.LatePenalty.points_per_hour = _settings.getfloat("late", "points_per_hour", fallback=1.0)
c.CourseDirectory.max_file_size = 1024 * _settings.getint("grading", "max_submission_mb", fallback=32)
