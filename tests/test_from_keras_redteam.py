"""Red-team Keras files (``keras_redteam_cases.py``): each is refused with a LoadError whose
message names the bound or check it hits, or loads, and nothing from it runs.

The cases: bytecode whose names are keywords or become ``__`` names and builtins under
NFKC normalization, huge constants, powers, ref bombs, deep conditionals, floods of
instructions and parameters, huge defaults and closures; configs that are JSON bombs
(deflated and stored), infinite or 5,000-digit units, cycles, op layers with hostile or
huge arguments; weights files whose groups link to themselves or fan out, hold references
or array dtypes, and legacy files whose names attribute is split into thousands of chunks
or whose config is a variable-length string bomb. Bounds are asserted by their messages;
peak memory is checked in a subprocess for the two cases that took gigabytes before.

While each conversion runs, ``marshal.loads``, ``builtins.eval`` and ``pickle.loads``
raise, and ``builtins.exec`` too unless the case holds a valid lambda (lamina's compiler
legitimately execs the validated ``def`` it writes); a canary file that hostile code would
create must not exist afterwards.
"""

from __future__ import annotations

import builtins
import codecs
import marshal
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from keras_redteam_cases import CANARY, CASES, MODELS, Case

import lamina
from lamina.errors import LoadError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def warmed_up() -> None:
    """Import everything a conversion imports before the patches (Python's import system
    unmarshals .pyc files with ``marshal.loads``)."""
    codecs.encode(b"", "base64")
    lamina.from_keras(os.path.join(MODELS, "siamese.keras"))
    lamina.from_keras(os.path.join(MODELS, "tf_keras_style.h5"))
    lamina.from_keras(os.path.join(MODELS, "mlp.h5"))


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("code from the file was about to run")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_each_redteam_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           warmed_up: None) -> None:
    path = case.build(tmp_path)
    monkeypatch.chdir(tmp_path)
    patched = [(marshal, "loads"), (builtins, "eval"), (pickle, "loads")]
    if not case.compiles:
        patched.append((builtins, "exec"))
    with monkeypatch.context() as patch:
        for module, name in patched:
            patch.setattr(module, name, _refuse)
        if case.match is None:
            model = lamina.from_keras(path)
        else:
            with pytest.raises(LoadError, match=None) as raised:
                lamina.from_keras(path)
    if case.match is None:
        assert isinstance(model, lamina.Model)
    else:
        assert case.match in str(raised.value)
    assert not (tmp_path / CANARY).exists()


_MEASURE = """
import resource, sys
import lamina
from lamina.errors import LoadError
lamina.from_keras(sys.argv[2])  # imports and warms up on the real fixture
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    lamina.from_keras(sys.argv[1])
except LoadError:
    pass
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.parametrize("case_id", ["huge_default_string", "json_object_bomb_stored"])
def test_memory_bombs_stay_small(case_id: str, tmp_path: Path) -> None:
    """Before the fixes: 3.4 GB for a 29 MB default string (the JSON depth check's regex
    kept state per character), 1.5 GB for a 70 KB archive of ``{},``."""
    case = next(c for c in CASES if c.id == case_id)
    path = case.build(tmp_path)
    size_mb = os.path.getsize(path) // 2 ** 20
    result = subprocess.run([sys.executable, "-c", _MEASURE, path,
                             os.path.join(MODELS, "mlp.keras")],
                            capture_output=True, text=True, cwd=ROOT, check=True,
                            env=dict(os.environ, KERAS_BACKEND="torch"))
    assert int(result.stdout.split()[-1]) < 100 + 2 * size_mb
