"""examples/distributed_fit.py under torchrun with 2 CPU processes; examples/export_onnx.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lamina

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_distributed_fit_example_under_torchrun(tmp_path) -> None:
    saved = tmp_path / "model.lamina"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(EXAMPLES / "distributed_fit.py"), "--epochs", "2",
               "--save", str(saved)]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # Each line once: only rank 0 prints, with the values of both processes' shards.
    assert out.count("Epoch 1/2 - ") == 1 and out.count("Epoch 2/2 - ") == 1, out
    assert "2 process(es)" in out and out.count("rank 0 saved") == 1
    accuracy = float(out.split("validation accuracy ")[1].split()[0].rstrip(","))
    assert accuracy > 0.5  # 8 classes: chance is 0.125
    assert lamina.load_model(saved).count_params() > 0


def test_export_onnx_example_matches_onnxruntime(tmp_path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("export_onnx", EXAMPLES / "export_onnx.py")
    module = importlib.util.module_from_spec(spec)
    # As importlib's recipe does: torch.export reads the module's globals through it.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    difference = module.main(str(tmp_path))
    out = capsys.readouterr().out
    assert "('signal', ['batch', 20, 8])" in out and "max abs difference" in out
    assert difference < 1e-5
    assert (tmp_path / "model.onnx").exists() and (tmp_path / "cli.onnx").exists()
