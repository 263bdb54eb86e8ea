"""How tests/data/*_before.lamina and records_before.json were made: run with the lamina
of commit a02b3ae (the release before build configs), from the repository root."""

import json

import torch

import lamina
from lamina import layers


def main() -> None:
    torch.manual_seed(0)
    x = lamina.Input((3,), name="x")
    h = layers.Dense(4, name="dense_before")(x)
    y = layers.Lambda(lambda t: t ** 2 + 1.0, name="square_before")(h)
    model = lamina.Model(x, y, name="functional_before")
    model.save("tests/data/lambda_record_before.lamina")
    inp = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    out = model(inp)

    class Block(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = layers.Dense(2, name="inner")

        def call(self, inputs):
            return self.inner(inputs) * 3.0

    lamina.register_serializable("tests")(Block)
    block = Block(name="block_before")
    bout = block(inp)
    block.save("tests/data/subclassed_before.lamina")
    records = {"input": inp.tolist(), "functional_output": out.tolist(),
               "block_output": bout.tolist()}
    with open("tests/data/records_before.json", "w") as file:
        json.dump(records, file, indent=1)


if __name__ == "__main__":  # never on import (pytest collects doctests here)
    main()
