"""Write every Keras fixture the tests use: run by hand from the repository root.

    KERAS_BACKEND=torch .venv/bin/python tests/data/keras/make_fixtures.py

1. ``make_lambda_bytecode.py``: the lambdas of ``lambda_cases.py`` (and the hostile ones)
   compiled by every CPython 3.6-3.13 found under ``~/.pyenv/versions``, as Keras stores
   them (``lambda_bytecode.json``).
2. ``make_model_fixtures.py``: real ``.keras`` and ``.h5`` files written by Keras 3 (this
   venv's 3.15.1, torch backend), with the predictions Keras made beside them, and each of
   their Lambdas' bytecode as every interpreter found writes it (``models/``).

Code objects are compiled with the neutral file name ``<keras-lambda>``, so no machine
path is written. Nothing but the compiler runs in the other interpreters. The files are
small (about 0.5 MB in all) and committed; the tests never regenerate them.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    sys.path.insert(0, HERE)
    import make_lambda_bytecode
    import make_model_fixtures

    make_lambda_bytecode.main()
    make_model_fixtures.main()


if __name__ == "__main__":
    main()
