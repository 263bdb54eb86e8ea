"""The programs here are scripts, run by tests/test_keras_programs.py as ``__main__``.

Collecting them for doctests would import each a second time, under its own module name,
and run its decorators twice (registering one custom object from two modules).
"""

collect_ignore_glob = ["*.py"]
