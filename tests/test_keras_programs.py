"""The Keras-guide programs in tests/keras_programs/ run with lamina and pass their checks.

Each program starts with ``import lamina as keras`` and is valid Keras 3 as it stands
(``tests/keras_programs/run_with_keras.py`` runs it under Keras with the import swapped).
Each is run as a script (``__name__ == "__main__"``) in this process, which saves
importing torch once per program; it prints ``<name>: ok`` once its asserts have passed.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "keras_programs"
NOT_PROGRAMS = {"run_with_keras.py", "conftest.py"}


def program_paths() -> list[Path]:
    return sorted(p for p in PROGRAMS.glob("*.py") if p.name not in NOT_PROGRAMS)


@pytest.mark.parametrize("program", program_paths(), ids=lambda path: path.stem)
def test_keras_program_runs_with_lamina(
    program: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # anything a program writes lands here
    runpy.run_path(str(program), run_name="__main__")
    assert f"{program.stem}: ok" in capsys.readouterr().out


def test_every_program_imports_lamina_only_as_keras() -> None:
    for program in program_paths():
        lines = program.read_text().splitlines()
        imports = [line for line in lines if line.startswith(("import ", "from "))]
        assert "import lamina as keras" in imports, program.name
        other_lamina = [line for line in imports if "lamina" in line]
        assert other_lamina == ["import lamina as keras"], (program.name, other_lamina)
        assert 'if __name__ == "__main__":' in lines, program.name
