"""An unknown keyword argument to a layer: Keras's ValueError, and Python's TypeError."""

from __future__ import annotations

import os

import pytest

from lamina import layers
from lamina.errors import UnknownArgumentError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


@pytest.mark.parametrize("name, arguments", [("Dense", {"units": 2}),
                                             ("Dropout", {"rate": 0.5}),
                                             ("LayerNormalization", {})])
def test_an_unknown_keyword_is_caught_as_keras_code_and_python_code_expect(name, arguments):
    with pytest.raises(ValueError):  # what Keras raises
        getattr(keras.layers, name)(**arguments, unitz=3)
    with pytest.raises(UnknownArgumentError, match=r"unexpected keyword argument\(s\) \['unitz'\]"
                       ) as raised:
        getattr(layers, name)(**arguments, unitz=3)
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, TypeError)
