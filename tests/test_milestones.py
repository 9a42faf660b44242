"""The milestones, run as a student runs them: `tito milestone run NN` (exit code and accuracy)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import run_tito

ACCURACY = re.compile(r"test accuracy: ([\d.]+)% \(target (\d+)%\)")


@pytest.mark.parametrize("number, target", [("01", 95), ("02", 97)])
def test_milestone_reaches_its_target(number, target):
    run = run_tito("milestone", "run", number, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    found = ACCURACY.search(run.stdout)
    assert found, f"no accuracy line in the output:\n{run.stdout[-2000:]}"
    accuracy, reported_target = float(found.group(1)), int(found.group(2))
    assert reported_target == target and accuracy >= target
    assert "confusion matrix" in run.stdout and "epoch  1" in run.stdout
    assert "Milestone" in run.stdout and "reached" in run.stdout


def test_missed_target_exits_nonzero_without_banner(tmp_path, repo_root):
    """A copy of milestone 01 with an unreachable target fails loudly."""
    import shutil

    project = tmp_path / "project"
    (project / "modules" / "source").mkdir(parents=True)
    shutil.copy(repo_root / "settings.ini", project / "settings.ini")
    shutil.copytree(repo_root / "milestones" / "01_digits_mlp", project / "milestones" / "01_digits_mlp")
    script = project / "milestones" / "01_digits_mlp" / "train.py"
    text = script.read_text().replace("TARGET = 0.95", "TARGET = 1.01").replace("EPOCHS = 15", "EPOCHS = 1")
    script.write_text(text)
    run = run_tito("milestone", "run", "1", cwd=project, timeout=300)
    assert run.returncode == 1
    assert "target missed" in run.stdout and "reached" not in run.stdout
    assert "did not reach its target" in run.stderr


def test_milestone_list_and_unknown_name():
    listing = run_tito("milestone", "list")
    assert listing.returncode == 0
    assert "01_digits_mlp" in listing.stdout and "02_digits_cnn" in listing.stdout and "03_tiny_gpt" in listing.stdout
    unknown = run_tito("milestone", "run", "99")
    assert unknown.returncode == 2 and "Valid milestones: 01_digits_mlp, 02_digits_cnn, 03_tiny_gpt" in unknown.stderr
