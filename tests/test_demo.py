"""The demo (``lamina demo``), the command line, and ``plot_history``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lamina
from lamina import cli, demo
from lamina.errors import ArgumentError
from lamina.utils import plot_history

ROOT = Path(__file__).resolve().parent.parent


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture
def one_thread():
    """As ``lamina demo`` runs: one torch thread (see cli.py), restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_demo_trains_saves_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture,
                                     one_thread: None) -> None:
    result = demo.run(plot_path=str(tmp_path / "curves.png"),
                      save_path=str(tmp_path / "demo.lamina"), verbose=2)
    out = capsys.readouterr().out
    assert result["accuracy"] >= 0.95
    assert "lambda x: x ** 2" in out and "antirectifier(x)" in out
    assert "Epoch 15/15 - " in out and "val_accuracy: " in out
    assert f"test accuracy: {result['accuracy']:.4f}" in out
    assert "reloaded in safe mode with identical predictions" in out
    width, height = _png_size(tmp_path / "curves.png")
    assert width > 400 and height > 200
    reloaded = lamina.load_model(tmp_path / "demo.lamina")
    assert [type(layer).__name__ for layer in reloaded.layers] == [
        "Dense", "Lambda", "Lambda", "Dense"]
    history = result["history"]
    assert history["loss"][-1] < history["loss"][0] / 4


def test_cli_demo_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture,
                             one_thread: None) -> None:
    code = cli.main(["demo", "--epochs", "1", "--verbose", "0", "--no-plot", "--save",
                     str(tmp_path / "m.lamina")])
    assert code == 0 and (tmp_path / "m.lamina").exists()
    assert "test accuracy:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])  # a subcommand is required
    assert exit_info.value.code == 2


def test_python_dash_m_lamina_and_no_matplotlib_on_import() -> None:
    helped = subprocess.run([sys.executable, "-m", "lamina", "demo", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--epochs" in helped.stdout
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, lamina; lamina.utils.plot_history; "
         "print('matplotlib' in sys.modules)"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert imported.stdout.strip() == "False", imported.stderr


def test_plot_history_panels_per_quantity(tmp_path: Path) -> None:
    history = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7],
               "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.4, 0.6, 0.75],
               "learning_rate": [0.1, 0.1, 0.05]}
    path = plot_history(history, tmp_path / "deep" / "h.png")
    width, _ = _png_size(Path(path))
    single = plot_history({"loss": [1.0, 0.5]}, tmp_path / "single.png")
    assert width > 2.5 * _png_size(Path(single))[0]  # three panels against one
    with pytest.raises(ArgumentError, match="History"):
        plot_history({}, tmp_path / "empty.png")
