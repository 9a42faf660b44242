"""nbgrader configuration for the TinyTorch course.

Values an instructor changes live in settings.ini (read here with configparser), so plain
`nbgrader` commands from the repository root and `tito nbgrader ...` agree.
"""
import configparser
from pathlib import Path

_root = Path(__file__).resolve().parent
_settings = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
_settings.read(_root / "settings.ini")

c = get_config()  # noqa: F821 (provided by nbgrader's config loader)

c.CourseDirectory.course_id = _settings.get("course", "id", fallback="tinytorch")
c.CourseDirectory.root = str((_root / _settings.get("nbgrader", "course_dir", fallback="course")).resolve())
# Module sources (*_dev.py) never travel into a student release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*_dev.py"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ExecutePreprocessor.timeout = _settings.getint("grading", "cell_timeout", fallback=30)
