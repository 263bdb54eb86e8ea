"""``describe_file`` / ``check_file`` (the ``lamina inspect`` / ``check`` commands)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import lamina
from lamina import backend as K
from lamina import layers
from lamina.saving.inspection import check_file, describe_file


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    return K.concatenate([K.relu(x), K.relu(-x)], axis=1)


def _saved(tmp_path: Path) -> Path:
    scale = lamina.Variable(2.0)
    model = lamina.Sequential([
        layers.Dense(3, input_shape=(2,)),
        layers.Lambda(antirectifier, name="anti"),
        layers.Lambda(lambda x: x * scale, name="scaled"),
    ])
    path = tmp_path / "model.lamina"
    model.save(path)
    return path


def test_describe_file_shows_tiers_sources_captures_params_and_versions(tmp_path: Path) -> None:
    text = describe_file(_saved(tmp_path))
    assert "[source] def antirectifier(x):" in text
    assert "K.concatenate([K.relu(x), K.relu(-x)], axis=1)" in text
    assert "K = module lamina.backend" in text
    assert "scale = variable float32[]" in text
    assert "Total params: 10" in text  # 2*3 + 3 kernel/bias, + the captured scale
    assert "Python 3." in text and "torch" in text


def test_describe_file_compiles_nothing(tmp_path: Path, monkeypatch) -> None:
    path = _saved(tmp_path)
    import lamina.functions.compiler as compiler

    def refuse(*args, **kwargs):
        raise AssertionError("describe_file must not compile saved functions")

    monkeypatch.setattr(compiler, "compile_function", refuse)
    assert "anti (Lambda)" in describe_file(path)


def test_check_file_accepts_a_safe_file_and_names_the_problem_otherwise(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    ok, message = check_file(path)
    assert ok and "loads in safe mode" in message
    with zipfile.ZipFile(path) as stored:
        members = {name: stored.read(name) for name in stored.namelist()}
    config = json.loads(members["config.json"])
    function = config["model"]["config"]["layers"][2]["config"]["function"]
    function["source"] = "def antirectifier(x):\n    return open('/tmp/x').read()"
    members["config.json"] = json.dumps(config).encode()
    bad = tmp_path / "bad.lamina"
    with zipfile.ZipFile(bad, "w") as stored:
        for name, data in members.items():
            stored.writestr(name, data)
    ok, message = check_file(bad)
    assert not ok and "UnsafeFunctionError" in message and "anti" in message


def test_cli_inspect_and_check(tmp_path: Path, capsys) -> None:
    from lamina.cli import main

    path = _saved(tmp_path)
    assert main(["inspect", str(path)]) == 0
    assert "[source] def antirectifier(x):" in capsys.readouterr().out
    assert main(["check", str(path)]) == 0
    assert "loads in safe mode" in capsys.readouterr().out
    broken = tmp_path / "broken.lamina"
    broken.write_bytes(path.read_bytes()[:100])
    assert main(["check", str(broken)]) == 1
    assert "CorruptArchiveError" in capsys.readouterr().err
    assert main(["inspect", str(broken)]) == 2
