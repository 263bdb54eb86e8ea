"""compile(jit=...) and export leave sys.modules alone (issue 14, item 4).

Dynamo reads the globals of a function whose ``__name__`` is set through the module of
that name, and the globals of one without a ``__name__`` as the dict they are. Functions
loaded from a ``.lamina`` file have none, so they compile and export as they are. Code run
in a namespace named after a module that nobody registered cannot be compiled: lamina says
so, naming the layer, instead of putting a stand-in module into ``sys.modules``.

The backend is ``aot_eager``, which runs Dynamo and AOTAutograd as ``jit=True`` does but
not inductor, which registers the code it generates as modules of its own in
``sys.modules`` (``tests/test_jit.py`` checks ``jit=True`` itself).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

import lamina
from lamina import backend as K
from lamina import layers
from lamina.callbacks import Callback
from lamina.training.jit import UnimportableModuleError

BACKEND = "aot_eager"
RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4)).astype(np.float32)  # 40 = batches of 16, 16 and 8
LABELS = RNG.integers(0, 3, size=40)

# A namespace as ``exec`` or ``importlib.util.module_from_spec`` makes it: its __name__ names
# a module that nobody registered in sys.modules and that cannot be imported.
UNREGISTERED = "lamina_test_module_nobody_registered"
SOURCE = "def doubled(x):\n    return K.relu(x) * 2.0\n"


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    return K.concatenate([K.relu(x), K.relu(-x)], axis=1)


class ModulesSeen(Callback):
    """Records the names in sys.modules at the end of every batch: train, test, predict."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[frozenset[str]] = []

    def _record(self, batch: int, logs: dict | None = None) -> None:
        self.seen.append(frozenset(sys.modules))

    on_train_batch_end = on_test_batch_end = on_predict_batch_end = _record


def _saved(tmp_path) -> str:
    torch.manual_seed(0)
    scale = lamina.Variable(1.5)
    model = lamina.Sequential([layers.Dense(8, input_shape=(4,)), layers.Lambda(antirectifier),
                               layers.Lambda(lambda x: x * scale, name="scaled"),
                               layers.Dense(3, activation="softmax")])
    path = str(tmp_path / "model.lamina")
    model.save(path)
    return path


def _loaded(path: str) -> lamina.Model:
    model = lamina.load_model(path, compile=False)  # safe mode: the source tier
    functions = [layer.function for layer in model.layers if isinstance(layer, layers.Lambda)]
    assert len(functions) == 2
    assert all("__name__" not in function.__globals__ for function in functions)
    return model


def _run(model: lamina.Model, jit: bool | str, callbacks: list | None = None) -> tuple:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit=jit)
    torch.manual_seed(3)
    history = model.fit(X, LABELS, epochs=2, batch_size=16, verbose=0, callbacks=callbacks)
    evaluated = model.evaluate(X, LABELS, batch_size=16, verbose=0, callbacks=callbacks)
    predicted = model.predict(X, batch_size=16, verbose=0, callbacks=callbacks)
    weights = [w.detach().numpy().copy() for w in model.state_dict().values()]
    return history.history, evaluated, predicted, weights


def _unregistered_model() -> tuple[lamina.Model, dict]:
    namespace = {"__name__": UNREGISTERED, "K": K}
    exec(SOURCE, namespace)  # noqa: S102 - our text
    torch.manual_seed(0)
    model = lamina.Sequential([layers.Dense(8, input_shape=(4,)),
                               layers.Lambda(namespace["doubled"], name="doubled"),
                               layers.Dense(3, activation="softmax")])
    return model, namespace


def test_fit_of_a_safely_loaded_model_adds_no_module_and_matches_eager(tmp_path) -> None:
    path = _saved(tmp_path)
    _run(_loaded(path), BACKEND)  # torch imports what its compilers need the first time
    eager = _run(_loaded(path), False)
    watch = ModulesSeen()
    before = frozenset(sys.modules)
    compiled = _run(_loaded(path), BACKEND, [watch])
    after = frozenset(sys.modules)
    assert len(watch.seen) == 2 * 3 + 3 + 3  # two epochs of 3 batches, evaluate, predict
    for during in watch.seen:
        assert during == before, sorted(during ^ before)
    assert after == before, sorted(after ^ before)
    for key in eager[0]:
        np.testing.assert_allclose(compiled[0][key], eager[0][key], rtol=1e-5)
    np.testing.assert_allclose(compiled[1], eager[1], rtol=1e-5)
    np.testing.assert_allclose(compiled[2], eager[2], atol=1e-6)
    for a, b in zip(compiled[3], eager[3]):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_export_of_a_safely_loaded_model_adds_no_module(tmp_path, monkeypatch) -> None:
    model = _loaded(_saved(tmp_path))
    model.export(str(tmp_path / "warm.pt2"), format="torch")  # torch's own first imports
    seen = []
    capture = torch.export.export

    def watched(*args, **kwargs):
        seen.append(frozenset(sys.modules))
        return capture(*args, **kwargs)

    monkeypatch.setattr(torch.export, "export", watched)
    before = frozenset(sys.modules)
    path = model.export(str(tmp_path / "model.pt2"), format="torch")
    assert frozenset(sys.modules) == before and seen == [before]
    x = torch.from_numpy(X[:5])
    torch.testing.assert_close(torch.export.load(path).module()(x), model(x))


def test_code_of_an_unregistered_module_is_refused_naming_the_layer() -> None:
    model, _ = _unregistered_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit=BACKEND)
    watch = ModulesSeen()
    with pytest.raises(UnimportableModuleError) as caught:
        model.fit(X, LABELS, epochs=1, batch_size=16, verbose=0, callbacks=[watch])
    message = str(caught.value)
    assert "Lambda 'doubled' (doubled(x))" in message and f"'{UNREGISTERED}'" in message
    assert "register the module in sys.modules" in message
    assert isinstance(caught.value, ImportError)
    assert UNREGISTERED not in sys.modules
    assert all(UNREGISTERED not in during for during in watch.seen)
    # Without jit the same model trains: only torch.compile needs the module.
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, LABELS, epochs=1, batch_size=16, verbose=0)


def test_export_of_code_of_an_unregistered_module_never_registers_it(tmp_path,
                                                                    monkeypatch) -> None:
    """The strict capture (Dynamo) cannot read the Lambda's globals; the non-strict one,
    which runs the Python, exports the model, with nothing added to sys.modules."""
    model, _ = _unregistered_model()
    seen = []
    capture = torch.export.export

    def watched(*args, **kwargs):
        seen.append(frozenset(sys.modules))
        return capture(*args, **kwargs)

    monkeypatch.setattr(torch.export, "export", watched)
    path = model.export(str(tmp_path / "model.pt2"), format="torch")
    assert seen and all(UNREGISTERED not in during for during in seen)
    assert UNREGISTERED not in sys.modules
    x = torch.from_numpy(X[:5])
    torch.testing.assert_close(torch.export.load(path).module()(x), model(x))


def test_code_of_a_registered_module_compiles(monkeypatch) -> None:
    """What the error advises: the module that runs the code is in sys.modules."""
    module = types.ModuleType("lamina_test_module_registered")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    module.K = K
    exec(SOURCE, module.__dict__)  # noqa: S102 - our text

    def build() -> lamina.Model:
        torch.manual_seed(0)
        return lamina.Sequential([layers.Dense(8, input_shape=(4,)),
                                  layers.Lambda(module.doubled, name="doubled"),
                                  layers.Dense(3, activation="softmax")])

    eager = _run(build(), False)
    compiled = _run(build(), BACKEND)
    np.testing.assert_allclose(compiled[2], eager[2], atol=1e-6)
    for key in eager[0]:
        np.testing.assert_allclose(compiled[0][key], eager[0][key], rtol=1e-5)
