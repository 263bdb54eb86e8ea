"""Workloads (l), (m) and (n): a 1-block transformer language model, lamina against plain
torch and Keras 3.

The model (vocabulary 256, sequence 32, width 128, 2 heads): token ``Embedding`` plus a
learned position embedding, then one pre-norm block (``LayerNormalization`` ->
``MultiHeadAttention(use_causal_mask=True)`` -> residual ``+``; ``LayerNormalization`` ->
``Dense(512, gelu)`` -> ``Dense(128)`` -> residual ``+``), a final ``LayerNormalization``
and a ``Dense`` to the vocabulary (logits). lamina and Keras write it as a Functional model;
the plain-torch reference is what a PyTorch user writes at best: one fused in-projection
``nn.Linear(128, 384)``, ``F.scaled_dot_product_attention(is_causal=True)``, ``nn.Linear``,
``F.gelu``, ``F.layer_norm``. All three hold the same weights and their logits are checked
equal before timing.

(l) eager forward at batch 4, no gradients; (m) 8-token greedy generation from a fixed
8-token prompt at batch 4 (the growing sequence is fed whole each step and the last
position's argmax appended); (n) one train step at batch 32 (forward, sparse categorical
cross-entropy over every position, backward, Adam).

Run alone with ``python bench/transformer.py [--quick] [--threads N] [--only lmn]``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import lamina
from lamina import layers

try:
    from run import Row, measure, ratio_target, row
except ImportError:
    from bench.run import Row, measure, ratio_target, row

import keras_workloads

VOCABULARY, SEQUENCE, WIDTH, HEADS, HIDDEN = 256, 32, 128, 2, 512
PROMPT, NEW_TOKENS = 8, 8
EPSILON = 1e-3  # Keras's LayerNormalization default


# ---------------------------------------------------------------------- lamina
class PositionEmbedding(layers.Layer):
    """Adds a learned ``(sequence, width)`` position embedding to its ``(batch, T, width)``
    input, ``T <= sequence`` (the first ``T`` rows)."""

    def __init__(self, sequence: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sequence = sequence

    def build(self, input_shape: Any) -> None:
        self.positions = self.add_weight("positions", (self.sequence, input_shape[-1]),
                                         initializer="random_normal")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs + self.positions[:inputs.shape[1]]

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sequence": self.sequence}


def lamina_lm() -> lamina.Model:
    """The language model as a lamina Functional model (variable sequence length)."""
    tokens = lamina.Input(shape=(None,), dtype="int64")
    x = PositionEmbedding(SEQUENCE)(layers.Embedding(VOCABULARY, WIDTH)(tokens))
    h = layers.LayerNormalization()(x)
    x = x + layers.MultiHeadAttention(HEADS, WIDTH // HEADS)(h, h, use_causal_mask=True)
    h = layers.LayerNormalization()(x)
    x = x + layers.Dense(WIDTH)(layers.Dense(HIDDEN, activation="gelu")(h))
    x = layers.LayerNormalization()(x)
    return lamina.Model(tokens, layers.Dense(VOCABULARY)(x))


# ---------------------------------------------------------------------- plain torch
class PlainLM(nn.Module):
    """The same model in plain torch: fused in-projection and ``scaled_dot_product_attention``."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = nn.Embedding(VOCABULARY, WIDTH)
        self.positions = nn.Parameter(torch.zeros(SEQUENCE, WIDTH))
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(WIDTH, eps=EPSILON) for _ in "123")
        self.in_proj, self.out_proj = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
        self.fc1, self.fc2 = nn.Linear(WIDTH, HIDDEN), nn.Linear(HIDDEN, WIDTH)
        self.head = nn.Linear(WIDTH, VOCABULARY)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, steps = tokens.shape
        x = self.tokens(tokens) + self.positions[:steps]
        q, k, v = self.in_proj(self.norm1(x)).view(batch, steps, 3, HEADS, -1).permute(
            2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out_proj(attended.transpose(1, 2).reshape(batch, steps, WIDTH))
        x = x + self.fc2(F.gelu(self.fc1(self.norm2(x))))
        return self.head(self.norm3(x))


def copy_weights(ours: lamina.Model, plain: PlainLM) -> None:
    """Keras layouts into torch's: Dense kernels transposed, the attention's
    ``(128, heads, size)`` projections concatenated into the fused in-projection."""
    found = {type(layer).__name__: [] for layer in ours.layers}
    for layer in ours.layers:
        found[type(layer).__name__].append(layer)
    attention = found["MultiHeadAttention"][0]
    with torch.no_grad():
        plain.tokens.weight.copy_(found["Embedding"][0].embeddings)
        plain.positions.copy_(found["PositionEmbedding"][0].positions)
        for norm, layer in zip((plain.norm1, plain.norm2, plain.norm3),
                               found["LayerNormalization"]):
            norm.weight.copy_(layer.gamma)
            norm.bias.copy_(layer.beta)
        for linear, layer in zip((plain.fc1, plain.fc2, plain.head), found["Dense"]):
            linear.weight.copy_(layer.kernel.T)
            linear.bias.copy_(layer.bias)
        kernels = [getattr(attention, f"{p}_kernel").reshape(WIDTH, WIDTH)
                   for p in ("query", "key", "value")]
        plain.in_proj.weight.copy_(torch.cat(kernels, dim=1).T)
        plain.in_proj.bias.copy_(torch.cat([getattr(attention, f"{p}_bias").reshape(-1)
                                            for p in ("query", "key", "value")]))
        plain.out_proj.weight.copy_(attention.output_kernel.reshape(WIDTH, WIDTH).T)
        plain.out_proj.bias.copy_(attention.output_bias)


def lm_triple(batch: int) -> tuple[lamina.Model, PlainLM, Any, str | None, torch.Tensor]:
    """lamina's model, its plain twin and its Keras twin (or ``None`` and why), all with the
    same weights and checked to give the same logits on ``batch`` random sequences."""
    torch.manual_seed(0)
    ours, plain = lamina_lm(), PlainLM()
    copy_weights(ours, plain)
    tokens = torch.randint(0, VOCABULARY, (batch, SEQUENCE))
    with torch.no_grad():
        torch.testing.assert_close(ours(tokens), plain(tokens), rtol=1e-4, atol=1e-4)
    keras_model, note = keras_workloads.candidate(keras_workloads.transformer_lm, ours, tokens)
    return ours, plain, keras_model, note, tokens


# ---------------------------------------------------------------------- the rows
def generate(model: Callable[[torch.Tensor], torch.Tensor], prompt: torch.Tensor
             ) -> torch.Tensor:
    """Greedy decoding: ``NEW_TOKENS`` times, feed the whole sequence, append the argmax of
    the last position's logits."""
    sequence = prompt
    for _ in range(NEW_TOKENS):
        logits = model(sequence)
        sequence = torch.cat([sequence, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return sequence


def forward_rows(quick: bool) -> list[Row]:
    """(l) the eager forward at batch 4, no gradients."""
    ours, plain, keras_model, note, tokens = lm_triple(4)
    keras_forward = None if keras_model is None else (lambda: keras_model(tokens))
    with torch.no_grad():
        times = measure({"lamina": lambda: ours(tokens), "torch": lambda: plain(tokens),
                         "keras": keras_forward},
                        inner=100 if quick else 400, blocks=7 if quick else 15,
                        warmup=20 if quick else 100)
    return [row(f"(l) transformer LM forward ({4}, {SEQUENCE}), width {WIDTH}, {HEADS} heads",
                ratio_target(1.05), times, note)]


def generation_rows(quick: bool) -> list[Row]:
    """(m) 8-token greedy generation from a fixed 8-token prompt at batch 4."""
    ours, plain, keras_model, note, tokens = lm_triple(4)
    prompt = tokens[:, :PROMPT]
    with torch.no_grad():
        expected = generate(plain, prompt)
        torch.testing.assert_close(generate(ours, prompt), expected)
        keras_generate = None
        if keras_model is not None:
            torch.testing.assert_close(generate(keras_model, prompt), expected)
            keras_generate = lambda: generate(keras_model, prompt)  # noqa: E731
        times = measure({"lamina": lambda: generate(ours, prompt),
                         "torch": lambda: generate(plain, prompt), "keras": keras_generate},
                        inner=20 if quick else 60, blocks=7 if quick else 15,
                        warmup=5 if quick else 20)
    return [row(f"(m) transformer LM greedy generation, {NEW_TOKENS} tokens from {PROMPT}, "
                "batch 4", ratio_target(1.05), times, note)]


def lm_train_step(model: nn.Module, tokens: torch.Tensor, targets: torch.Tensor
                  ) -> Callable[[], None]:
    """Forward, sparse categorical cross-entropy over every position, backward, Adam."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        logits = model(tokens)
        loss = F.cross_entropy(logits.reshape(-1, VOCABULARY), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def training_rows(quick: bool) -> list[Row]:
    """(n) one train step at batch 32."""
    ours, plain, keras_model, note, tokens = lm_triple(32)
    targets = torch.roll(tokens, -1, dims=1)
    for model in (ours, plain, keras_model):
        if model is not None:
            model.train()
    times = measure({"lamina": lm_train_step(ours, tokens, targets),
                     "torch": lm_train_step(plain, tokens, targets),
                     "keras": None if keras_model is None else lm_train_step(
                         keras_model, tokens, targets)},
                    inner=5 if quick else 20, blocks=7 if quick else 15,
                    warmup=5 if quick else 10)
    return [row(f"(n) transformer LM train step, batch 32, sequence {SEQUENCE}",
                ratio_target(1.05), times, note)]


ROWS = {"l": forward_rows, "m": generation_rows, "n": training_rows}


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("lmn", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())
