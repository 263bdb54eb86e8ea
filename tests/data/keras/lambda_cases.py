"""Lambdas typical of Keras models, and the source lamina translates their bytecode to.

Each case is a dict: ``source`` (a lambda expression, or a module whose one lambda closes
over a variable), ``expected`` (the text ``translate_lambda`` must produce for every
Python 3.6-3.13), and what Keras stores beside the code: ``defaults`` (the function's
``__defaults__``) and ``closure`` (its cells' contents, as JSON gives them back).
``make_lambda_bytecode.py`` compiles the sources with each interpreter; this file must
stay importable by Python 3.6.
"""


def case(source, expected=None, defaults=None, closure=None):
    """One case; ``expected`` defaults to the source itself."""
    return {"source": source, "expected": expected or source, "defaults": defaults,
            "closure": closure}


CASES = [
    case("lambda x: x ** 2"),
    case("lambda x: x * 2 + 1"),
    case("lambda x: K.mean(x, axis=1)"),
    case("lambda x: K.sum(x, axis=-1, keepdims=True)"),
    case("lambda x: x[:, 0, :]"),
    case("lambda x: x[..., ::-1]"),
    case("lambda x: x[:, 1:-1]"),
    case("lambda t: t[0] - t[1]"),
    case("lambda x: K.l2_normalize(x, axis=1)"),
    case("lambda x: tf.transpose(x, perm=[0, 2, 1])"),
    case("lambda x: tf.concat([x, x], axis=-1)"),
    case("lambda x: tf.expand_dims(x, -1)"),
    case("lambda x: K.abs(x[0] - x[1])"),
    case("lambda x, a=2.0: x * a", defaults=[2.0]),
    case("lambda x: -x"),
    case("lambda x: x / (1.0 + K.exp(-x))"),
    case("lambda x: K.maximum(x, 0.0) if K.ndim(x) > 2 else x"),
    case("lambda x: x if x is None else -x"),
    case("lambda x: (x if K.ndim(x) > 2 else -x) * 2"),
    case("lambda inputs: ops.concatenate([inputs[0], inputs[1]], axis=1)"),
    case("lambda x: tf.nn.relu(x)"),
    case("lambda x: np.pi * x"),
    case("lambda x: x @ x"),
    case("lambda x: x.mean(axis=1)"),
    case("lambda x: x.reshape(-1, 4)"),
    case("lambda x: x[:, :, None]"),
    case("lambda x: K.batch_dot(x[0], x[1], axes=(1, 1))"),
    case("lambda x: {'a': x, 'b': x * 2}"),
    case("lambda x, y: (x + y, x - y)"),
    case("lambda x: ~x if x.dtype == 'bool' else x % 3"),
    case("lambda x: K.dot(x, K.transpose(x)) // 2 >> 1"),
    case("lambda *args: args[0] + args[1]"),
    case("lambda x, mask=None: x if mask is None else x * mask", defaults=[None]),
    case("lambda x: tf.reduce_mean(x, axis=[1, 2], keepdims=False)"),
    case("def make(scale):\n    return lambda x: x * scale\n",
         expected="lambda x: x * 0.5", closure=[0.5]),
    case("def make(axes, name):\n    return lambda x: K.permute_dimensions(x, axes) + len(name)\n",
         expected="lambda x: K.permute_dimensions(x, [0, 2, 1]) + len('p')",
         closure=[[0, 2, 1], "p"]),
    case("lambda x, y: (x in y, x not in y, x is not y)"),
    case("lambda x: x in {1, 2}"),
    case("lambda x: +x"),
    case("lambda x: not x"),
    case("lambda x, *, k: x * k"),
    case("lambda x: [1, 2, x]"),
    case("lambda x: {x: 1, 'b': [1.5, None]}"),
    case("lambda x: x.shape[1:] + (1,)"),
    # Arms that differ in one place keep the conditional there (the same text whether a
    # compiler joined the arms or copied the code after them into both).
    case("lambda x: K.mean(x, axis=1) if x.shape[0] else K.mean(x, axis=2)",
         expected="lambda x: K.mean(x, axis=1 if x.shape[0] else 2)"),
]

# Functions lamina must refuse, with a phrase the refusal names for every version that
# compiles them (``make_lambda_bytecode.py`` skips a version whose syntax lacks one).
HOSTILE = [
    ("lambda x: __import__('os').system('touch CANARY')", "'__import__' starts with '_'"),
    ("lambda x: getattr(x, '__class__')", "the builtin 'getattr'"),
    ("lambda x: eval('1 + 1')", "the builtin 'eval'"),
    ("lambda x: exec('y = 1')", "the builtin 'exec'"),
    ("lambda x: open('CANARY', 'w').write('x')", "the builtin 'open'"),
    ("lambda x: x.__class__", "'__class__' starts with '_'"),
    ("lambda x: x.numpy()._data", "'_data' starts with '_'"),
    ("lambda x: [i for i in range(10 ** 9)]", ""),
    ("def f(x):\n    global g\n    g = x\n    return x\n", "STORE_GLOBAL"),
    ("def f(x):\n    import os\n    return os.system(x)\n", "IMPORT_NAME"),
    ("def f(x):\n    while x:\n        x = x - 1\n    return x\n", ""),
    ("def f(x):\n    try:\n        return x\n    except Exception:\n        return 0\n", ""),
    ("def f(x):\n    del x\n    return 1\n", "DELETE_FAST"),
    ("def f(x):\n    x.y = 1\n    return x\n", "STORE_ATTR"),
    ("def f(x):\n    x[0] = 1\n    return x\n", "STORE_SUBSCR"),
    ("def f(x):\n    raise ValueError(x)\n", "RAISE_VARARGS"),
    ("lambda x: (yield x)", "generator"),
    ("lambda x: lambda y: x + y", ""),
    ("lambda x: f(*x)", "CALL_FUNCTION_EX"),
    ("lambda x: f(**x)", ""),
    ("lambda x: x and y", "'and'/'or'"),
    ("lambda x: x or y", "'and'/'or'"),
    ("lambda x: 0 < x < 1", ""),
    ("lambda x: f'{x}'", ""),
    ("lambda x: (y := x) + y", ""),
    ("lambda x: [*x, 1]", ""),
]
