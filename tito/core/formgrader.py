"""tito's guard around nbgrader's formgrader: a Jupyter server extension `tito lab` loads after it.

- The submission view renders through the sanitising exporter (tito.core.sanitize): a student's
  markdown or output can't run script in the instructor's browser, and MathJax is inlined.
- The formgrader's buttons that would bypass tito go through it instead:
  Generate → `tito nbgrader generate` (our notebook build), Autograde → tito's sandboxed grader,
  Generate feedback → tito's feedback (hidden tests hidden), Release → tito's leak check first,
  then nbgrader's exchange release. Collect (from the exchange) is refused with a message:
  `tito nbgrader collect --from DIR` is the way in, with its file checks.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tornado import web

ROUTES = {
    "assign": r"/formgrader/api/assignment/([^/]+)/assign",
    "release": r"/formgrader/api/assignment/([^/]+)/release",
    "collect": r"/formgrader/api/assignment/([^/]+)/collect",
    "feedback_all": r"/formgrader/api/assignment/([^/]+)/generate_feedback",
    "feedback_one": r"/formgrader/api/assignment/([^/]+)/([^/]+)/generate_feedback",
    "autograde": r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde",
}


def _jupyter_server_extension_points():
    return [{"module": "tito.core.formgrader"}]


def _answer(success: bool, log: str = "", error: str = "") -> str:
    return json.dumps({"success": success, "log": log, "error": error})


def _handler(action: str):
    from nbgrader.server_extensions.formgrader.base import BaseApiHandler, check_notebook_dir, check_xsrf

    class TitoHandler(BaseApiHandler):
        @web.authenticated
        @check_xsrf
        @check_notebook_dir
        async def post(self, *args):
            course = self.settings["tito_course"]
            try:
                text = await asyncio.get_running_loop().run_in_executor(None, run, action, course, *args)
                self.write(_answer(True, log=text))
            except Exception as err:           # one clear line for the formgrader's dialog
                self.write(_answer(False, error=str(err) if str(err) else type(err).__name__))

    TitoHandler.__name__ = f"Tito{action.title()}Handler"
    return TitoHandler


def run(action: str, course, assignment: str, student: str | None = None) -> str:
    """What each guarded button does; raises with the reason when it does nothing."""
    from tito.core import registry
    from tito.core.course import feedback, generate
    from tito.core.settings import TitoError

    module = registry.resolve(assignment, course.root)
    if action == "collect":
        raise TitoError("Collect with tito, which checks every file: "
                        f"tito nbgrader collect {module.slug} --from DIR")
    if action == "assign":
        g = generate(course, module)
        return f"tito generated {module.slug}: {g.graded} graded cell(s), {g.points:g} point(s)"
    if action == "release":
        from tito.core.workspace import find_leaks, secret_lines

        leaks = find_leaks(course.directory / "release" / module.slug, secret_lines([module]))
        if leaks:
            raise TitoError(f"release stopped by tito's leak check: {len(leaks)} solution or hidden-test "
                            f"line(s) in the student files, e.g. {leaks[0]}")
        result = course.api().release_assignment(module.slug)
        if not result.get("success"):
            raise TitoError((result.get("error") or result.get("log") or "release failed").strip()[-500:])
        return "leak check passed; released to the exchange"
    if action == "autograde":
        from tito.core.autograde import autograde

        [outcome] = autograde(course, module, students=[student], force=True)
        if not outcome.graded:
            raise TitoError(f"{student} not graded: {outcome.reason}")
        return f"tito autograded {student}: {outcome.score:g}/{outcome.max_score:g}. " + " ".join(outcome.notes)
    results = feedback(course, module, [student] if student else None)
    failed = [f"{who}: {error}" for who, html, error in results if html is None]
    if failed:
        raise TitoError("feedback failed for " + "; ".join(failed))
    return f"tito wrote feedback for {len(results)} student(s)"


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers as formgrader_handlers
    from traitlets.config import Config

    from tito.core.course import Course
    from tito.core.sanitize import TEMPLATES, configure

    webapp = serverapp.web_app
    try:
        course = Course.from_settings(Path(serverapp.root_dir))
    except Exception as err:
        serverapp.log.warning("tito formgrader guard not loaded: %s", err)
        return
    old = webapp.settings.get("nbgrader_exporter")
    config = Config(old.config) if old is not None else Config()
    configure(config)
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), formgrader_handlers.template_path]
    webapp.settings["nbgrader_exporter"] = HTMLExporter(config=config)
    webapp.settings["tito_course"] = course
    base = webapp.settings.get("base_url", "/")
    webapp.add_handlers(".*$", [(url_path_join(base, pattern), _handler(action)) for action, pattern in ROUTES.items()])
    # add_handlers puts a new host rule just before the catch-all; ours must come before nbgrader's
    rules = webapp.default_router.rules
    rules.insert(0, rules.pop(-2))
    serverapp.log.info("tito: formgrader buttons go through tito; submissions are rendered sanitised")
