"""Milestone 03 (a tiny GPT), run as a student runs it, in its quick configuration (a few steps).

The full run (`tito milestone run 03`, a few minutes) is on demand; its measured numbers are in
milestones/03_tiny_gpt/README.md.
"""
from __future__ import annotations

import math
import re
import shutil

from tests.conftest import run_tito

VAL = re.compile(r"validation loss: ([\d.]+) nats/char \(target ([\d.]+); bigram ([\d.]+)\), trained in ([\d.]+) s")


def test_quick_run_trains_reports_and_writes(monkeypatch, repo_root):
    monkeypatch.setenv("TINYTORCH_MILESTONE_QUICK", "1")
    run = run_tito("milestone", "run", "03", timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    found = VAL.search(run.stdout)
    assert found, run.stdout[-2000:]
    val, target, bigram, _ = map(float, found.groups())
    assert val <= target < math.log(62) and 2.0 < bigram < 2.6
    assert re.search(r"epoch 1 +train loss [\d.]+ +val loss [\d.]+", run.stdout) and "epoch 2" in run.stdout
    assert "untrained GPT: 4.1" in run.stdout, "an untrained model starts near ln(62) = 4.13"
    samples = [line for line in run.stdout.splitlines() if line.startswith("  > ")]
    assert [s[4:16] for s in samples] == ["And God said", "And the LORD", "In the land "]
    assert (repo_root / "milestones" / "03_tiny_gpt" / "loss_curve.png").stat().st_size > 1000
    assert "Milestone 03" in run.stdout and "reached" in run.stdout


def test_missed_target_exits_nonzero(monkeypatch, tmp_path, repo_root):
    monkeypatch.setenv("TINYTORCH_MILESTONE_QUICK", "1")
    project = tmp_path / "project"
    (project / "modules" / "source").mkdir(parents=True)
    shutil.copy(repo_root / "settings.ini", project / "settings.ini")
    folder = project / "milestones" / "03_tiny_gpt"
    shutil.copytree(repo_root / "milestones" / "03_tiny_gpt", folder)
    script = folder / "train.py"
    text = script.read_text()
    assert "QUICK_TARGET = 3.3" in text
    script.write_text(text.replace("QUICK_TARGET = 3.3", "QUICK_TARGET = 0.5"))
    run = run_tito("milestone", "run", "3", cwd=project, timeout=600)
    assert run.returncode == 1
    assert "target missed" in run.stdout and "reached" not in run.stdout
    assert "did not reach its target" in run.stderr
