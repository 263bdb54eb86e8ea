"""A masked LSTM text classifier: does token 7 appear in the sequence?

Sequences of 3 to 12 tokens (1..19) are right-padded with 0. ``Embedding(mask_zero=True)``
turns the padding into a mask, ``Lambda(..., mask="same")`` passes it on, and the LSTM
skips the padded steps (torch's packed-sequence kernel runs underneath), so a sequence's
prediction does not depend on how much padding follows it. The model is a
``torch.nn.Module``: a plain PyTorch loop trains it. Run with ``python
examples/text_classifier.py``.
"""

from __future__ import annotations

import torch

import lamina
from lamina import layers
from lamina.layers.recurrent import LSTM

VOCABULARY, MAX_LENGTH, TARGET = 20, 12, 7


def make_data(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded token sequences and their labels (1.0 where ``TARGET`` appears)."""
    lengths = torch.randint(3, MAX_LENGTH + 1, (count,), generator=generator)
    tokens = torch.randint(1, VOCABULARY, (count, MAX_LENGTH), generator=generator)
    # Half the sequences get the target token at a random valid position, so the classes
    # are balanced; the others have it replaced.
    tokens[tokens == TARGET] = TARGET + 1
    chosen = torch.rand(count, generator=generator) < 0.5
    where = (torch.rand(count, generator=generator) * lengths).long()
    tokens[chosen, where[chosen]] = TARGET
    tokens[torch.arange(MAX_LENGTH)[None, :] >= lengths[:, None]] = 0
    return tokens, chosen.float()


def build_model() -> lamina.Model:
    tokens = lamina.Input(shape=(None,), dtype="int64", name="tokens")
    embedded = layers.Embedding(VOCABULARY, 16, mask_zero=True)(tokens)
    scaled = layers.Lambda(lambda x: x * 2.0, mask="same")(embedded)
    features = LSTM(32)(scaled)
    probability = layers.Dense(1, activation="sigmoid")(features)
    return lamina.Model(tokens, probability, name="text_classifier")


def main(epochs: int = 3, seed: int = 0) -> float:
    """Train for ``epochs``; print the summary, losses and test accuracy; return it."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = make_data(2000, generator)
    x_test, y_test = make_data(500, generator)

    model = build_model()
    model.summary()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for epoch in range(epochs):
        permutation = torch.randperm(len(x_train))
        total = 0.0
        for start in range(0, len(x_train), 64):
            batch = permutation[start:start + 64]
            probability = model(x_train[batch])[:, 0]
            loss = torch.nn.functional.binary_cross_entropy(probability, y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}/{epochs}  loss {total / len(x_train):.4f}")
    model.eval()

    with torch.no_grad():
        predicted = model(x_test)[:, 0] > 0.5
        # The padding is skipped: the first test sequence, cut to its length, scores the same.
        first = x_test[:1, : int((x_test[0] != 0).sum())]
        print(f"padded vs unpadded first sequence: {model(x_test[:1]).item():.6f} "
              f"{model(first).item():.6f}")
    accuracy = (predicted == y_test.bool()).float().mean().item()
    print(f"test accuracy: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
