"""TensorFlow functions a Keras lambda may call, and the lamina op each becomes.

:data:`TF` is data: for each function (as written after ``tf.``, ``tf.math.``, ``tf.nn.``,
``tf.linalg.``), the lamina op, TensorFlow's parameters in order with the lamina argument
each maps to, and TensorFlow's defaults where Keras's differ. ``keras_lambda_names`` uses it
to rewrite a lambda's source; ``saving/keras_tf_ops`` to translate tf-keras's op layers.

Example:
    >>> TF["reduce_mean"].target, TF["reduce_mean"].pairs()[0]
    ('mean', ('input_tensor', 'x'))
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Spec:
    """How one TensorFlow function becomes a lamina op call.

    Attributes:
        target: The lamina op (``ops.<target>``).
        params: TensorFlow's parameters in order, each ``"tf_name"`` or
            ``"tf_name:lamina_name"``; a ``-`` lamina name means "accepted only at its default
            (``None``/``False``)".
        positional: How many leading lamina arguments are written positionally.
        defaults: lamina arguments always passed (TensorFlow's defaults where Keras's differ).
        aliases: Other TensorFlow keyword names (``keep_dims``) for a parameter.
    """

    target: str
    params: tuple[str, ...]
    positional: int = 1
    defaults: tuple[tuple[str, Any], ...] = ()
    aliases: tuple[tuple[str, str], ...] = (("keep_dims", "keepdims"),
                                           ("reduction_indices", "axis"))

    def pairs(self) -> list[tuple[str, str]]:
        return [tuple(p.split(":")) if ":" in p else (p, p) for p in self.params]  # type: ignore[misc]


def _unary(target: str) -> Spec:
    return Spec(target, ("x", "name:-"))


def _binary(target: str) -> Spec:
    return Spec(target, ("x", "y", "name:-"), positional=2)


def _reduce(target: str) -> Spec:
    return Spec(target, ("input_tensor:x", "axis", "keepdims", "name:-"))


_ACTIVATIONS = ("relu", "relu6", "elu", "selu", "sigmoid", "tanh", "softplus", "softsign",
                "silu", "swish", "exp", "abs", "sqrt", "square", "log", "sign", "round",
                "floor", "ceil", "sin", "cos", "tan", "negative", "reciprocal", "rsqrt",
                "erf", "log1p", "expm1", "log_sigmoid", "hard_sigmoid")
_BINARY = ("maximum", "minimum", "add", "subtract", "multiply", "divide", "equal",
           "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and",
           "logical_or", "logical_xor", "floor_divide", "mod")

#: TensorFlow functions a Keras lambda may call (under ``tf.``, ``tf.math.``, ``tf.nn.``...).
TF: dict[str, Spec] = {
    **{name: _unary(name) for name in _ACTIVATIONS},
    **{name: _binary(name) for name in _BINARY},
    "logical_not": _unary("logical_not"), "is_nan": _unary("isnan"), "is_inf": _unary("isinf"),
    "pow": _binary("power"), "truediv": _binary("true_divide"), "floordiv": _binary("floor_divide"),
    "floormod": _binary("mod"),
    **{f"reduce_{name}": _reduce(target) for name, target in (
        ("sum", "sum"), ("mean", "mean"), ("max", "max"), ("min", "min"), ("prod", "prod"),
        ("any", "any"), ("all", "all"), ("std", "std"), ("variance", "var"),
        ("logsumexp", "logsumexp"))},
    "concat": Spec("concatenate", ("values:tensors", "axis", "name:-")),
    "stack": Spec("stack", ("values:tensors", "axis", "name:-"), defaults=(("axis", 0),)),
    "unstack": Spec("unstack", ("value:x", "num", "axis", "name:-"), defaults=(("axis", 0),)),
    "expand_dims": Spec("expand_dims", ("input:x", "axis", "name:-"), positional=2),
    "squeeze": Spec("squeeze", ("input:x", "axis", "name:-"), aliases=(("squeeze_dims", "axis"),)),
    "reshape": Spec("reshape", ("tensor:x", "shape", "name:-"), positional=2),
    "transpose": Spec("transpose", ("a:x", "perm:axes", "conjugate:-", "name:-")),
    "tile": Spec("tile", ("input:x", "multiples:n", "name:-"), positional=2),
    "gather": Spec("take", ("params:x", "indices", "validate_indices:-", "axis", "batch_dims:-",
                            "name:-"), positional=2, defaults=(("axis", 0),)),
    "clip_by_value": Spec("clip", ("t:x", "clip_value_min:min_value",
                                   "clip_value_max:max_value", "name:-"), positional=3),
    "cast": Spec("cast", ("x", "dtype", "name:-"), positional=2),
    "zeros_like": Spec("zeros_like", ("input:x", "dtype", "name:-")),
    "ones_like": Spec("ones_like", ("input:x", "dtype", "name:-")),
    "shape": Spec("shape", ("input:x", "out_type:-", "name:-")),
    "one_hot": Spec("one_hot", ("indices", "depth:num_classes", "on_value:-", "off_value:-",
                                "axis", "dtype", "name:-"), positional=2),
    "argmax": Spec("argmax", ("input:x", "axis", "output_type:-", "name:-"),
                   defaults=(("axis", 0),), aliases=(("dimension", "axis"),)),
    "argmin": Spec("argmin", ("input:x", "axis", "output_type:-", "name:-"),
                   defaults=(("axis", 0),), aliases=(("dimension", "axis"),)),
    "matmul": Spec("matmul", ("a:x", "b:y", "transpose_a:-", "transpose_b:-", "adjoint_a:-",
                              "adjoint_b:-", "a_is_sparse:-", "b_is_sparse:-", "output_type:-",
                              "name:-"), positional=2),
    "where": Spec("where", ("condition", "x", "y", "name:-"), positional=3),
    "cumsum": Spec("cumsum", ("x", "axis", "exclusive:-", "reverse:-", "name:-"),
                   defaults=(("axis", 0),)),
    "cumprod": Spec("cumprod", ("x", "axis", "exclusive:-", "reverse:-", "name:-"),
                    defaults=(("axis", 0),)),
    "softmax": Spec("softmax", ("logits:x", "axis", "name:-"), aliases=(("dim", "axis"),)),
    "log_softmax": Spec("log_softmax", ("logits:x", "axis", "name:-"),
                        aliases=(("dim", "axis"),)),
    "leaky_relu": Spec("leaky_relu", ("features:x", "alpha:negative_slope", "name:-"),
                       defaults=(("negative_slope", 0.2),)),
    "gelu": Spec("gelu", ("features:x", "approximate", "name:-")),
    "l2_normalize": Spec("l2_normalize", ("x", "axis", "epsilon:-", "name:-"),
                         aliases=(("dim", "axis"),)),
    "norm": Spec("norm", ("tensor:x", "ord:-", "axis", "keepdims", "name:-")),
    "einsum": Spec("einsum", ("equation",), positional=1),
    "reverse": Spec("flip", ("tensor:x", "axis", "name:-"), positional=1),
    "pad": Spec("pad", ("tensor:x", "paddings:pad_width", "mode:-", "constant_values",
                        "name:-"), positional=2),
    "split": Spec("split", ("value:x", "num_or_size_splits:indices_or_sections", "axis",
                            "num:-", "name:-"), positional=2, defaults=(("axis", 0),)),
    "sqrt": _unary("sqrt"),
}
for _name in ("relu", "softplus", "softsign", "elu", "selu", "sigmoid", "tanh", "silu", "swish",
              "relu6"):
    TF[_name] = Spec(_name, ("features:x", "name:-"))
for _name in ("sigmoid", "tanh", "exp", "abs", "sqrt", "square", "log", "sign", "round"):
    TF[_name] = _unary(_name)
