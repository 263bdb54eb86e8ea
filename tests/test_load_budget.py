"""Loading a file never exhausts time or memory: the cases of ``resource_cases.py``.

Each hostile file is refused with its specific error (naming the layer where one is to
blame) by ``load_model`` and ``lamina check``, and described by ``lamina inspect`` without
a crash; the files that must load do. Bounds of functions loaded from a file hold at run
time too, and never touch functions the user wrote. Times and peak memory of every case
are measured by ``bench/hostile_load.py`` (no test asserts a time); one test here checks
the peak memory of the two cases that allocated gigabytes before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from resource_cases import CASES, ResourceCase, save_base

import lamina
from lamina.errors import LimitExceededError, LoadError, UnsafeFunctionError
from lamina.functions import load_budget
from lamina.functions.compiler import compile_function, module_view
from lamina.saving.inspection import check_file, describe_file

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_base(tmp_path_factory.mktemp("budget") / "base.lamina")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_each_resource_case_is_refused_or_loads(case: ResourceCase, base: Path,
                                                tmp_path: Path) -> None:
    path = tmp_path / f"{case.id}.lamina"
    case.write(base, path)
    assert path.stat().st_size < 1_000_000
    ok, message = check_file(path)
    if case.error is None:
        assert ok, message
        assert isinstance(lamina.load_model(path), lamina.Model)
    else:
        with pytest.raises(case.error, match=case.match) as raised:
            lamina.load_model(path)
        assert isinstance(raised.value, LoadError)
        if case.layer is not None:
            assert f"'{case.layer}'" in str(raised.value)
        assert not ok and case.match in message
    try:  # reads JSON only: describes even what loading refuses, but not what is too big
        text = describe_file(path)
    except LoadError as error:
        assert case.error is LimitExceededError and "describes" in str(error)
    else:
        assert "Model:" in text


def test_op_ones_loads_with_the_shape_it_declares_and_allocates_nothing(
        base: Path, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == "op-ones-100000-squared")
    path = tmp_path / "ones.lamina"
    case.write(base, path)
    model = lamina.load_model(path)
    assert model.outputs[0].shape == (100_000, 100_000)


def test_a_1000_layer_model_loads(tmp_path: Path) -> None:
    inputs = lamina.Input(shape=(8,))
    h = inputs
    for index in range(1_000):
        h = (lamina.layers.Dense(8) if index % 2 else lamina.layers.Activation("relu"))(h)
    model = lamina.Model(inputs, h)
    model.save(tmp_path / "deep.lamina")
    loaded = lamina.load_model(tmp_path / "deep.lamina")
    x = torch.randn(3, 8)
    torch.testing.assert_close(loaded(x), model(x))


def test_peak_memory_of_the_former_gigabyte_cases(base: Path, tmp_path: Path) -> None:
    """Before, the first allocated 2.7-3.3 GB and the second tried 40 GB."""
    names = ["int-of-sum-then-25000-squared-ones", "op-ones-100000-squared"]
    paths = []
    for case in CASES:
        if case.id in names:
            paths.append(tmp_path / f"{case.id}.lamina")
            case.write(base, paths[-1])
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "hostile_load.py"), "--json", "--files",
         *map(str, paths)], capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 2 * 3
    for row in rows:
        assert row["peak_mb"] < 500, row


# ---------------------------------------------------------------------- run-time bounds
BOUNDED = [
    ("lambda x: len(range(abs(10 ** 9)))", "range of more than"),
    ("lambda x: 9 ** int(10 ** 8)", "integer wider than"),
    ("lambda x: 1 << int(10 ** 8)", "integer wider than"),
    ("lambda x: len(range(int(x) * 10 ** 12))", "range of more than"),
    ("def f(x):\n    n = 0\n    for i in range(10000):\n        for j in range(10000):\n"
     "            n = n + 1\n    return n\n", "iterations"),
    ("lambda x: sum([i for i in range(10000) for j in range(10000)])", "iterations"),
    ("def f(x):\n    s = 'a'\n    return s * (int(x) * 50000)\n", "sequence of more than"),
    ("def f(x):\n    s = [0]\n    for i in range(40):\n        s = s + s\n    return 0\n",
     "sequence of more than"),
    ("lambda x: (lambda s: len(sum([s, s], [])))([0] * 10)", "sums sequences with sum()"),
    ("lambda x: (lambda s: sum([0 in s for i in range(x) for j in range(x)]))([1] * 10000)",
     "iterations in one call"),
    ("lambda x: sorted((lambda t: t * (101 * x))([[0] * 10000]))", "sequence of more than"),
    ("lambda x: len(('%0' + '999999999d') % x)", "formats a string"),
]


@pytest.mark.parametrize(("source", "match"), BOUNDED)
def test_a_loaded_function_that_exceeds_a_bound_names_its_layer(source: str,
                                                                match: str) -> None:
    function = compile_function(source, {}, "Lambda 'bounded'")
    with pytest.raises(LimitExceededError, match=match) as raised:
        function(100)
    assert "Lambda 'bounded'" in str(raised.value)


@pytest.mark.parametrize("source", [
    "lambda x: (lambda r: sum(r(10 ** 12), 0))(range)",
    "def f(x):\n    r = range\n    return sum(r(10 ** 12), 0)\n",
    "lambda x: len((lambda r, l: l(r(3 * 10 ** 7 * x)))(range, list))",
    "lambda x: sorted([1], key=sum)",
])
def test_iterating_builtins_may_only_be_called_by_name(source: str) -> None:
    """An alias would call the builtin without the run-time bounds (a reviewer's finding)."""
    with pytest.raises(UnsafeFunctionError, match="other than by calling it"):
        compile_function(source, {}, "Lambda 'aliased'")


def test_math_prod_and_container_methods_are_bounded() -> None:
    math = {"math": module_view("math")}
    with pytest.raises(LimitExceededError, match="wider than 4096 bits"):
        compile_function("lambda x: math.prod((lambda t: t * (500 * x))([3 ** 30]))", math,
                         "t")(1)
    assert compile_function("lambda x: math.prod(x.shape[1:])", math, "t")(
        torch.zeros(2, 3, 4)) == 12
    captured = [3, 2, 1]
    with pytest.raises(LimitExceededError, match=r"calls \.sort on a list"):
        compile_function("lambda x: x + len([c.sort()])", {"c": captured}, "t")(1)
    assert captured == [3, 2, 1]  # never sorted in place
    tensor = torch.tensor([3.0, 1.0])
    torch.testing.assert_close(compile_function("lambda x: x.sort()[0] + x.add(1.0)", {}, "t")(
        tensor), torch.tensor([5.0, 5.0]))


def test_bounded_functions_compute_what_the_original_does() -> None:
    sources = {
        "lambda x, k=3: x * k + 2 ** 3 - (1 << 2)": 100 * 3 + 8 - 4,
        "lambda x: sum([i * i for i in range(10)]) + x": 285 + 100,
        "def f(x):\n    s = 'ab' * 3\n    t = [1, 2] + [3]\n    return len(s) + len(t) + x\n":
            6 + 3 + 100,
        "lambda x: max(range(5)) + min(3, 4) + x % 7": 4 + 3 + 2,
        "lambda x: sum((1, 2), 3) + (2 in [1, 2]) + (5 not in (1,)) + x": 6 + 1 + 1 + 100,
        "def f(x):\n    total = 0\n    for a, b in zip(range(3), range(3)):\n"
        "        total = total + a * b\n    return total\n": 5,
    }
    for source, expected in sources.items():
        assert compile_function(source, {}, "t")(100) == expected, source
    function = compile_function("lambda x: x * 2.0 + x ** 2", {}, "t")
    x = torch.tensor([1.0, -3.0], requires_grad=True)
    y = function(x)
    torch.testing.assert_close(y, x * 2.0 + x ** 2)
    y.sum().backward()
    torch.testing.assert_close(x.grad, 2.0 + 2 * x.detach())


def test_a_loaded_lambda_keeps_its_signature_name_and_source() -> None:
    function = compile_function("lambda x, mask=None, k=1.5: x * k", {}, "t")
    import inspect

    assert list(inspect.signature(function).parameters) == ["x", "mask", "k"]
    assert function.__name__ == "<lambda>"
    assert function.__lamina_source__ == "lambda x, mask=None, k=1.5: x * k"


def test_the_users_own_functions_are_never_bounded() -> None:
    def own(x):
        total = 0
        for i in range(2_000_000):  # over the bounds of a loaded function
            total += i
        return x + len("a" * 200_000) + (9 ** 2000 > 0) + (total - 1_999_999_000_000)

    layer = lamina.layers.Lambda(own)
    assert layer(torch.ones(1)).item() == 1 + 200_000 + 1


def counting_loops(rows):
    """A function with two nested loops of ``rows`` x 1000 iterations (returns x)."""
    source = (f"def loops_of_{rows}(x):\n    count = 0\n    for i in range({rows}):\n"
              "        for j in range(1000):\n            count = count + 1\n"
              f"    return x + (count - {rows * 1000})\n")
    namespace: dict = {}
    exec(compile(source, f"<loops {rows}>", "exec"), namespace)  # noqa: S102 - our text
    return namespace[f"loops_of_{rows}"], source


def test_a_loaded_model_runs_under_the_bound_on_real_data(tmp_path: Path) -> None:
    """Recorded specs spare inference at load; the per-call bound applies on real data."""
    for rows, fits in ((50, True), (200, False)):
        function, source = counting_loops(rows)
        function.__lamina_source__ = source  # exec'd: no file to read the source from
        inputs = lamina.Input(shape=(2,))
        model = lamina.Model(inputs, lamina.layers.Lambda(function, name=function.__name__)(
            inputs))
        assert model(torch.ones(1, 2)).tolist() == [[1.0, 1.0]]  # the user's own: no bound
        model.save(tmp_path / "loops.lamina")
        loaded = lamina.load_model(tmp_path / "loops.lamina")
        if fits:
            assert loaded(torch.ones(1, 2)).tolist() == [[1.0, 1.0]]
        else:
            with pytest.raises(LimitExceededError,
                               match=r"ran more than 100000 iterations in one call\.") as raised:
                loaded(torch.ones(1, 2))
            assert "loops_of_200" in str(raised.value)


def test_initializer_configs_are_not_counted_as_layers() -> None:
    inputs = lamina.Input(shape=(3,))
    model = lamina.Model(inputs, lamina.layers.Dense(2)(lamina.layers.Dense(4)(inputs)))
    config = {"model": {"class_name": "Functional", "name": model.name,
                        "config": model.get_config()}}
    assert load_budget.count_layers(config) == (4, 2)  # the model, its input, two Dense; 2 calls


def test_json_depth_is_counted_without_parsing() -> None:
    assert load_budget.json_depth(b'{"a": [1, {"b": "[[[\\"]]"}], "c": {}}') == 3
    assert load_budget.json_depth(b"[" * 100_000 + b"]" * 100_000) == 100_000
