"""What an instructor or a student sees of a submission is inert, and hidden tests stay hidden.

Feedback files and the formgrader's submission view are rendered by nbconvert's HTMLExporter,
which (nbconvert 7.17) passes a markdown cell's raw HTML through as is and loads MathJax from
a CDN. `configure(c)` (called by nbgrader_config.py and tito's own configuration) makes it:

- sanitise markdown cells (the `markdown2html` filter renders, then nh3 cleans) and outputs
  (`sanitize_html`: HTML/markdown outputs cleaned, JavaScript and widget outputs dropped);
- inline MathJax 3 from the installed `django-static-mathjax` package (tito/core/templates/);
- for feedback only (HideHiddenTests): show each hidden test's outcome and message, never its
  code — the test cell's hidden block is replaced by a comment, a failing hidden test's
  traceback by its one-line message, and any hidden-test line that reaches an output is blanked
  (hidden tests run in the judge process, so a submission can't print their code; this is a
  second line of defence, e.g. for a literal a test passes in and the submission echoes).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import pass_context
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

TEMPLATES = Path(__file__).resolve().parent / "templates"
BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_NOTE = "# (hidden tests: their outcome and message are shown below, their code is not)"
BLANKED = "[hidden test line]"
MIN_SECRET = 8          # a hidden line shorter than this is too generic to blank everywhere

_IMAGE_DATA = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")


def _attribute_filter(tag: str, attribute: str, value: str):
    if attribute in ("href", "src") and value.strip().lower().startswith("data:"):
        return value if tag == "img" and value.strip().lower().startswith(_IMAGE_DATA) else None
    return value


def clean_html(html: str) -> str:
    """Student HTML without scripts, event handlers, styles, frames, forms or javascript: URLs."""
    import nh3

    attributes = {k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag in ("span", "div", "code", "pre", "a", "p", "table", "td", "th", "tr", "img"):
        attributes.setdefault(tag, set()).update({"class", "id", "title"})
    attributes.setdefault("img", set()).update({"src", "alt", "width", "height"})
    attributes.setdefault("a", set()).update({"href"})
    return nh3.clean(str(html), attributes=attributes, url_schemes={"http", "https", "mailto", "data"},
                     attribute_filter=_attribute_filter, link_rel="noopener noreferrer")


@pass_context
def safe_markdown2html(context, source):
    """nbconvert's markdown rendering (math kept for MathJax, attachments embedded), cleaned."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    cell = context.get("cell", {}) or {}
    renderer = IPythonRenderer(escape=False, attachments=cell.get("attachments", {}) or {},
                               path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                               anchor_link_text="¶", exclude_anchor_links=False)
    return clean_html(MarkdownWithMath(renderer=renderer).render(str(source)))


@lru_cache(maxsize=None)
def mathjax_script(name: str = "tex-svg.js") -> str:
    """MathJax 3's single-file SVG build, for inlining (no fonts to fetch: SVG paths)."""
    from tito.core.book import mathjax_source

    text = (mathjax_source() / Path(name).name).read_text(encoding="utf-8")
    return text.replace("</script", "<\\/script")


def _hidden_lines(source: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def _without_hidden(source: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _scrub(value, secrets: list[str]):
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, BLANKED)
        return value
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    return value


class HideHiddenTests(Preprocessor):
    """Feedback for the student: hidden tests' outcomes and messages, not their code."""

    enabled = Bool(True)          # nbconvert runs a registered preprocessor only when enabled

    def preprocess(self, nb, resources):
        secrets = sorted({line for cell in nb.cells if cell.get("cell_type") == "code"
                          for line in _hidden_lines(cell.get("source", "")) if len(line) >= MIN_SECRET},
                         key=len, reverse=True)
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            hidden = BEGIN in cell.get("source", "")
            if hidden:
                cell.source = _without_hidden(cell.source)
            outputs = []
            for output in cell.get("outputs", []):
                if hidden and output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
                outputs.append(type(output)(_scrub(dict(output), secrets)) if secrets else output)
            cell.outputs = outputs
        return nb, resources


class DropWidgetState(Preprocessor):
    """Widget state would load its JavaScript from a CDN: a submission's is not shown."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        return nb, resources


def configure(c) -> None:
    """Point nbconvert's HTML rendering of submissions (feedback, formgrader) at the above."""
    import nbgrader.server_extensions.formgrader.handlers as formgrader

    c.HTMLExporter.sanitize_html = True
    c.HTMLExporter.filters = {"markdown2html": "tito.core.sanitize.safe_markdown2html",
                              "tito_mathjax": "tito.core.sanitize.mathjax_script"}
    c.HTMLExporter.preprocessors = ["tito.core.sanitize.DropWidgetState"]
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), formgrader.template_path]
    c.GenerateFeedback.preprocessors = ["nbgrader.preprocessors.GetGrades", "tito.core.sanitize.HideHiddenTests",
                                        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
