"""`tito nbgrader collect` takes only what a student really handed in, with the student's time.

Hostile folders (symbolic links to the instructor's source, hard links, a FIFO, an id with a
newline), several copies of one submission, exchange timestamps, a manifest, a newer submission
after grading, a due date with a per-hour penalty, a roster, and Ctrl-C in the middle of a
grading queue. Each case: what it earns, everyone else unchanged, the gradebook intact.
"""
from __future__ import annotations

import csv
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from tito.core import registry
from tito.core.autograde import autograde
from tito.core.course import Course, collect, import_roster, read_stamp, report
from tito.core.settings import TitoError

from pipeline_support import filled, make_project, tito

DUE = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def _set(project: Path, **values: str) -> None:
    ini = project / "settings.ini"
    text = ini.read_text(encoding="utf-8")
    for key, value in values.items():
        text = re.sub(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
    ini.write_text(text, encoding="utf-8")


def _db_ok(course) -> None:
    with sqlite3.connect(course.gradebook_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _stamp(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.fixture(scope="module")
def course_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("collect")
    project = make_project(tmp)
    _set(project, penalty="per_hour", points_per_hour="1")
    ini = project / "settings.ini"
    ini.write_text(ini.read_text(encoding="utf-8").replace(
        "[late]\n", f"[late]\n00_setup = {DUE.strftime('%Y-%m-%d %H:%M')}\n", 1), encoding="utf-8")
    module = registry.resolve("00", project)
    generated = tito(project, "nbgrader", "generate", module.slug)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    course = Course.from_settings(project)
    assert course.due == {"00_setup": DUE} and course.late_penalty == "per_hour"
    source = nbformat.read(course.source_notebook(module), as_version=4)
    release = nbformat.read(course.release_notebook(module), as_version=4)
    return dict(tmp=tmp, project=project, course=course, module=module, source=source, release=release)


# ---- hostile folders ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile(course_env):
    env = course_env
    course, module = env["course"], env["module"]
    inbox = env["tmp"] / "hostile"
    nb_name = module.notebook_name
    good = filled(env["release"], env["source"])
    (inbox / "ada").mkdir(parents=True)
    nbformat.write(good, inbox / "ada" / nb_name)
    _stamp(inbox / "ada" / nb_name, DUE - timedelta(hours=1))
    # two students "submit" the instructor's source notebook (solutions and hidden tests)
    (inbox / "mallory").mkdir()
    (inbox / "mallory" / nb_name).symlink_to(course.source_notebook(module))
    (inbox / "trudy").symlink_to(course.source_notebook(module).parent, target_is_directory=True)
    (inbox / f"eve_{nb_name}").symlink_to(course.source_notebook(module))
    # a hard link to it, a FIFO (reading it would hang) and a device
    os.link(course.source_notebook(module), inbox / f"oscar_{nb_name}")
    (inbox / "pipe").mkdir()
    os.mkfifo(inbox / "pipe" / nb_name)
    (inbox / f"dev_{nb_name}").symlink_to("/dev/zero")
    os.mknod(inbox / f"null_{nb_name}", stat.S_IFCHR | 0o600, os.makedev(1, 3))      # /dev/null's numbers
    # an id with a newline (re.match with `$` accepts "good\n")
    (inbox / "good\n").mkdir()
    nbformat.write(good, inbox / "good\n" / nb_name)
    nbformat.write(good, inbox / f"bob\n_{nb_name}")
    # the empty student, for comparison
    nbformat.write(env["release"], inbox / f"grace_{nb_name}")
    _stamp(inbox / f"grace_{nb_name}", DUE - timedelta(minutes=5))
    started = time.monotonic()
    result = collect(course, module, inbox)
    return dict(result=result, seconds=time.monotonic() - started, inbox=inbox)


def test_only_real_files_are_imported(course_env, hostile):
    result = hostile["result"]
    assert sorted(s for s, _ in result.imported) == ["ada", "grace"], result
    reasons = {str(p.relative_to(hostile["inbox"])): r for p, r in result.problems}
    name = course_env["module"].notebook_name
    for link in (f"mallory/{name}", "trudy", f"eve_{name}", f"dev_{name}"):
        assert "symbolic link" in reasons[link], reasons
    assert "hard link" in reasons[f"oscar_{name}"], reasons
    assert "not a regular file" in reasons[f"pipe/{name}"], reasons
    assert "not a regular file" in reasons[f"null_{name}"], reasons
    assert "not a usable student id" in reasons[f"good\n/{name}"], reasons
    assert "not a usable student id" in reasons[f"bob\n_{name}"], reasons
    assert all("\n" not in r for r in reasons.values())
    submitted = course_env["course"].directory / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["ada", "grace"]
    source_text = course_env["course"].source_notebook(course_env["module"]).read_text(encoding="utf-8")
    for path in submitted.rglob("*.ipynb"):
        assert path.read_text(encoding="utf-8") != source_text and not path.is_symlink()


def test_cli_lists_each_refused_file_on_one_line(course_env, hostile):
    out = tito(course_env["project"], "nbgrader", "collect", "00", "--from", str(hostile["inbox"]))
    assert out.returncode == 1, out.stdout + out.stderr
    refused = [line for line in out.stdout.splitlines() if line.startswith("✗")]
    assert len(refused) == len(hostile["result"].problems), out.stdout
    assert any("good\\n" in line and "not a usable student id" in line for line in refused), out.stdout
    assert "unchanged since it was collected" in out.stdout, out.stdout   # a second collect imports nothing new


def test_submission_time_is_the_students(course_env, hostile):
    course, module = course_env["course"], course_env["module"]
    ada = read_stamp(course.submitted_notebook(module, "ada").parent / "timestamp.txt")
    assert abs((ada - (DUE - timedelta(hours=1))).total_seconds()) < 1, ada


# ---- times: exchange timestamp.txt, manifest, newest copy wins -------------------------------
def test_exchange_timestamp_manifest_and_newest_copy(course_env, tmp_path):
    course, module = course_env["course"], course_env["module"]
    name = module.notebook_name
    good, empty = filled(course_env["release"], course_env["source"]), course_env["release"]
    inbox = tmp_path / "times"
    (inbox / "xavier").mkdir(parents=True)
    nbformat.write(good, inbox / "xavier" / name)
    (inbox / "xavier" / "timestamp.txt").write_text("2026-11-19 08:30:00.000000 UTC")
    nbformat.write(good, inbox / f"yara_{name}")
    with open(inbox / "manifest.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["student_id", "notebook", "timestamp"], ["yara", name, "2026-11-18 10:00:00"]])
    # zoe handed in twice: the folder copy (older, empty) and the flat copy (newer, correct)
    (inbox / "zoe").mkdir()
    nbformat.write(empty, inbox / "zoe" / name)
    _stamp(inbox / "zoe" / name, DUE - timedelta(days=2))
    nbformat.write(good, inbox / f"zoe_{name}")
    _stamp(inbox / f"zoe_{name}", DUE - timedelta(days=1))
    result = collect(course, module, inbox)
    assert sorted(s for s, _ in result.imported) == ["xavier", "yara", "zoe"], result
    stamp = lambda s: read_stamp(course.submitted_notebook(module, s).parent / "timestamp.txt")
    assert stamp("xavier") == datetime(2026, 11, 19, 8, 30, tzinfo=timezone.utc)
    assert stamp("yara") == datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)
    assert abs((stamp("zoe") - (DUE - timedelta(days=1))).total_seconds()) < 1
    assert any("older submission" in r for _, r in result.kept), result.kept
    assert nbformat.read(course.submitted_notebook(module, "zoe"), as_version=4).cells == good.cells


# ---- regrading the newest, late penalties, report --------------------------------------------
def test_newer_submission_is_regraded_and_late_costs_per_hour(course_env, tmp_path):
    course, module = course_env["course"], course_env["module"]
    name = module.notebook_name
    good, empty = filled(course_env["release"], course_env["source"]), course_env["release"]
    inbox = tmp_path / "first"
    inbox.mkdir()
    for student, nb, when in (("lena", empty, DUE - timedelta(hours=3)), ("max", good, DUE - timedelta(hours=3)),
                              ("late", good, DUE + timedelta(hours=2, minutes=30))):
        nbformat.write(nb, inbox / f"{student}_{name}")
        _stamp(inbox / f"{student}_{name}", when)
    collect(course, module, inbox)
    first = {o.student: o for o in autograde(course, module, students=["lena", "max", "late"], jobs=2, timeout=10)}
    assert first["lena"].score == 0 and first["max"].score == first["max"].max_score == 4
    assert first["late"].score == 4 and any("3 point(s) off" in n for n in first["late"].notes), first["late"]
    # lena hands in a correct notebook later (still before the due date); an older copy of max's changes nothing
    later = tmp_path / "second"
    later.mkdir()
    nbformat.write(good, later / f"lena_{name}")
    _stamp(later / f"lena_{name}", DUE - timedelta(hours=1))
    nbformat.write(empty, later / f"max_{name}")
    _stamp(later / f"max_{name}", DUE - timedelta(hours=5))
    again = collect(course, module, later)
    assert [s for s, _ in again.imported] == ["lena"], again
    assert any("older than the submission already collected" in r for _, r in again.kept), again.kept
    second = {o.student: o for o in autograde(course, module, students=["lena", "max", "late"], jobs=2, timeout=10)}
    assert not second["lena"].skipped and second["lena"].score == 4, second["lena"]
    assert second["max"].skipped and second["max"].score == 4
    assert second["late"].skipped
    _db_ok(course)
    rows = {r["student_id"]: r for r in report(course, tmp_path / "grades.csv")}
    assert float(rows["late"]["raw_score"]) == 4 and float(rows["late"]["late_submission_penalty"]) == 3
    assert float(rows["late"]["score"]) == 1
    assert float(rows["lena"]["score"]) == 4 and float(rows["lena"]["late_submission_penalty"]) == 0
    assert rows["lena"]["timestamp"].startswith((DUE - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"))
    # regrading gives the same numbers
    third = {o.student: o for o in autograde(course, module, students=["lena", "max", "late"], jobs=2,
                                             timeout=10, force=True)}
    assert {s: o.score for s, o in third.items()} == {"lena": 4, "max": 4, "late": 4}
    rows_again = {r["student_id"]: r for r in report(course, tmp_path / "grades2.csv")}
    assert rows_again == rows


# ---- roster ------------------------------------------------------------------------------------
def test_roster_gives_names_and_refuses_duplicates(course_env, tmp_path):
    course = course_env["course"]
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n"
                      "newbie,New,Student,new@example.org\n", encoding="utf-8")
    with course.gradebook() as gb:
        gb.update_or_create_student("ada")              # as collect leaves her: no names
    added, updated = import_roster(course, roster)
    assert added == ["newbie"] and updated == ["ada"]
    with course.gradebook() as gb:
        ada = gb.find_student("ada")
        assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.org")
    bad = tmp_path / "bad.csv"
    bad.write_text("student_id,first_name,last_name,email\nbob,B,One,\ncarl,C,Two,\nbob,B,Again,\n", encoding="utf-8")
    with pytest.raises(TitoError, match=r"bad.csv:4: student_id 'bob' appears twice \(first on line 2\)"):
        import_roster(course, bad)
    with course.gradebook() as gb:
        assert "carl" not in {s.id for s in gb.students}          # nothing imported from a bad roster
    out = tito(course_env["project"], "nbgrader", "students", "import", str(bad))
    assert out.returncode == 2 and "appears twice" in out.stdout + out.stderr and "Traceback" not in out.stderr
    markup = tmp_path / "markup.csv"
    markup.write_text("student_id,first_name\n[/],x\n", encoding="utf-8")
    out = tito(course_env["project"], "nbgrader", "students", "import", str(markup))
    assert out.returncode == 2 and "'[/]' is not a usable student id" in out.stderr and "Traceback" not in out.stderr
    listed = tito(course_env["project"], "nbgrader", "students", "list")
    assert "Lovelace" in listed.stdout and "None" not in listed.stdout


# ---- autograde before collect, Ctrl-C ----------------------------------------------------------
def test_autograde_before_collect_says_how_to_collect(tmp_path):
    project = make_project(tmp_path)
    out = tito(project, "nbgrader", "autograde", "00")
    text = out.stdout + out.stderr
    assert out.returncode == 1 and "nothing to grade" in text and "tito nbgrader collect 00" in text, text
    assert "Traceback" not in text


def test_ctrl_c_stops_within_seconds_and_a_rerun_finishes(tmp_path):
    project = make_project(tmp_path)
    module = registry.resolve("00", project)
    assert tito(project, "nbgrader", "generate", "00").returncode == 0
    course = Course.from_settings(project)
    source = nbformat.read(course.source_notebook(module), as_version=4)
    release = nbformat.read(course.release_notebook(module), as_version=4)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    students = [f"s{i}" for i in range(5)]
    for student in students:
        nb = filled(release, source)
        nb.cells.insert(1, nbformat.v4.new_code_cell("import time\ntime.sleep(6)"))
        nbformat.write(nb, inbox / f"{student}_{module.notebook_name}")
    collect(course, module, inbox)
    env = {**os.environ, "TINYTORCH_ROOT": str(project), "NO_COLOR": "1", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "tito", "nbgrader", "autograde", "00", "--jobs", "1",
                                "--timeout", "20"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    graded = lambda: [s for s in students if course.autograded_notebook(module, s).is_file()]
    deadline = time.monotonic() + 120
    while not graded() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert graded(), "nothing was graded within two minutes"
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, _ = process.communicate(timeout=60)
    stopped_after = time.monotonic() - sent
    assert stopped_after < 10, (stopped_after, out)
    assert process.returncode == 1 and "interrupted" in out and "Traceback" not in out, out
    done = graded()
    assert 1 <= len(done) < len(students), done
    _db_ok(course)
    rerun = tito(project, "nbgrader", "autograde", "00", "--jobs", "2", "--timeout", "20")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.count("already graded") == len(done), rerun.stdout
    with course.gradebook() as gb:
        scores = {s.student_id: float(s.score) for s in gb.assignment_submissions(module.slug)}
    assert scores == {s: 4.0 for s in students}, scores


def test_a_due_date_for_no_module_or_no_date_is_one_line(tmp_path):
    project = make_project(tmp_path)
    ini = project / "settings.ini"
    base = ini.read_text(encoding="utf-8")
    for line, expected in (("01_tensr = 2027-01-01 10:00", "[late] names no module 01_tensr"),
                           ("01_tensor = next friday", "[late] 01_tensor = 'next friday' is not a date")):
        ini.write_text(base.replace("[late]\n", f"[late]\n{line}\n", 1), encoding="utf-8")
        out = tito(project, "nbgrader", "autograde", "00")
        assert out.returncode == 2 and expected in out.stderr and "Traceback" not in out.stderr, out.stderr
