"""Write ``lambda_bytecode.json``: each case of ``lambda_cases.py`` as Keras stores it.

Run by hand from the repository root, with any Python 3::

    python tests/data/keras/make_lambda_bytecode.py

For every interpreter found under ``~/.pyenv/versions/3.{6..13}.*/bin/python`` it runs
this file again in that interpreter (``--worker``), which compiles each case with the
neutral file name ``<keras-lambda>``, takes the lambda's code object, and prints what
Keras's ``func_dump`` would store: ``base64(marshal.dumps(code))`` (with the newlines
``codecs`` puts in), the defaults and the closure values. Nothing is executed but the
compiler. ``HOSTILE`` sources are compiled the same way (a function's own code object when
there is no lambda). The output, which holds no machine paths, is::

    {version: {"cases": {index: {"code", "defaults", "closure"}}, "hostile": {index: code}}}

The worker must stay valid Python 3.6.
"""

import codecs
import glob
import json
import marshal
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "lambda_bytecode.json")


def lambda_code(code):
    """The one ``<lambda>`` code object in ``code`` or its nested code objects."""
    if code.co_name == "<lambda>":
        return code
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            found = lambda_code(const)
            if found is not None:
                return found
    return None


def worker():
    """Print this interpreter's entries as JSON."""
    sys.path.insert(0, HERE)
    from lambda_cases import CASES, HOSTILE

    out = {}
    for index, case in enumerate(CASES):
        source = case["source"]
        mode = "eval" if source.startswith("lambda") else "exec"
        code = lambda_code(compile(source, "<keras-lambda>", mode))
        closure = case["closure"]
        if len(code.co_freevars) != len(closure or ()):
            raise SystemExit(f"case {index}: free variables {code.co_freevars!r}")
        raw = marshal.dumps(code)
        out[str(index)] = {"code": codecs.encode(raw, "base64").decode("ascii"),
                           "defaults": case["defaults"], "closure": closure}
    hostile = {}
    for index, (source, _) in enumerate(HOSTILE):
        mode = "eval" if source.startswith("lambda") else "exec"
        try:
            code = compile(source, "<keras-lambda>", mode)
        except SyntaxError:  # walrus before 3.8
            continue
        code = lambda_code(code) or [c for c in code.co_consts if hasattr(c, "co_code")][0]
        raw = marshal.dumps(code)
        hostile[str(index)] = codecs.encode(raw, "base64").decode("ascii")
    print(json.dumps({"cases": out, "hostile": hostile}, sort_keys=True))


def main():
    """Run the worker in every interpreter found and write the JSON file."""
    pattern = os.path.expanduser("~/.pyenv/versions/3.*/bin/python")
    result = {}
    for python in sorted(glob.glob(pattern)):
        version = os.path.basename(os.path.dirname(os.path.dirname(python)))
        short = ".".join(version.split(".")[:2])
        if short not in ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"):
            continue
        text = subprocess.check_output([python, os.path.abspath(__file__), "--worker"])
        result[short] = json.loads(text.decode("utf-8"))
        print(short, len(result[short]["cases"]), "cases,", len(result[short]["hostile"]),
              "hostile")
    with open(OUTPUT, "w") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
        handle.write("\n")


if __name__ == "__main__":
    worker() if "--worker" in sys.argv else main()
