"""A sentiment classifier trained from raw strings, saved, and reloaded in a new process.

Sentences mix neutral filler words with a few positive or negative words (the label says
which list they came from; now and then one word of the other list slips in). The model
takes the strings themselves: ``Input(dtype="string")`` -> ``TextVectorization`` (adapted
to the training sentences) -> ``Embedding`` -> ``GlobalAveragePooling1D`` -> ``Dense``, and
``fit`` / ``evaluate`` / ``predict`` read lists of strings. The vocabulary is saved in the
``.lamina`` file, so a new Python process that only loads the file predicts the same
probabilities from the same strings (checked here to the last bit). Run with ``python
examples/text_from_strings.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

import lamina
from lamina import layers

POSITIVE = ["great", "superb", "lovely", "charming", "brilliant", "moving", "fun", "gripping"]
NEGATIVE = ["awful", "boring", "dull", "clumsy", "tedious", "bland", "weak", "messy"]
NEUTRAL = ["the", "a", "film", "was", "plot", "actor", "really", "quite", "it", "and",
           "story", "music", "director", "ending", "scenes", "cast", "at", "times", "very",
           "this", "of", "with", "its", "long"]
MAX_TOKENS, SEQUENCE_LENGTH = 64, 16

# What the new process runs: load the file named by argv[1], predict the strings read as
# JSON from stdin, print the probabilities as JSON (floats print exactly).
RELOAD_SCRIPT = """
import json, sys
import torch
import lamina
torch.set_num_threads(int(sys.argv[2]))
model = lamina.load_model(sys.argv[1])
texts = json.load(sys.stdin)
print(json.dumps(model.predict(texts, verbose=0)[:, 0].tolist()))
"""


def make_sentences(count: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """``count`` sentences and their labels (1.0: positive). Each has 4 to 10 neutral
    words and 1 to 3 words of its class; a quarter also get one word of the other class."""
    labels = rng.integers(0, 2, count)
    texts = []
    for label in labels.tolist():
        own, other = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        chosen = list(rng.choice(NEUTRAL, int(rng.integers(4, 11))))
        chosen += list(rng.choice(own, int(rng.integers(1, 4))))
        if rng.random() < 0.25:
            chosen.append(str(rng.choice(other)))
        rng.shuffle(chosen)
        texts.append(" ".join(chosen).capitalize() + str(rng.choice([".", "!", "..."])))
    return texts, labels.astype("float32")


def build_model(train_texts: list[str]) -> lamina.Model:
    """Strings in, the probability of "positive" out; the vectorizer adapted to
    ``train_texts``."""
    vectorize = layers.TextVectorization(max_tokens=MAX_TOKENS,
                                         output_sequence_length=SEQUENCE_LENGTH)
    vectorize.adapt(train_texts)
    text = lamina.Input(shape=(1,), dtype="string", name="text")
    embedded = layers.Embedding(MAX_TOKENS, 16, mask_zero=True)(vectorize(text))
    pooled = layers.GlobalAveragePooling1D()(embedded)
    probability = layers.Dense(1, activation="sigmoid")(pooled)
    return lamina.Model(text, probability, name="text_from_strings")


def predict_in_new_process(path: str, texts: list[str]) -> list[float]:
    """Load the model file in a fresh Python interpreter and predict ``texts`` there."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", RELOAD_SCRIPT, path, str(torch.get_num_threads())],
        input=json.dumps(texts), capture_output=True, text=True, env=env, check=False,
        timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"the reloading process failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(epochs: int = 6, seed: int = 0) -> float:
    """Train for ``epochs``; evaluate, save, reload in a new process and compare; print
    the steps and return the test accuracy."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_texts, train_labels = make_sentences(2000, rng)
    test_texts, test_labels = make_sentences(500, rng)

    model = build_model(train_texts)
    vocabulary = model.layers[1].get_vocabulary()
    print(f"vocabulary: {len(vocabulary)} entries, first {vocabulary[:6]}")
    model.compile(optimizer=lamina.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(train_texts, train_labels, epochs=epochs, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(test_texts, test_labels, verbose=0)
    print(f"test accuracy: {accuracy:.3f}")

    samples = ["A superb and moving film!", "Boring, dull and far too long.",
               "The cast was lovely but the ending was weak."]
    here = model.predict(samples, verbose=0)[:, 0].tolist()
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "sentiment.lamina")
        model.save(path)
        there = predict_in_new_process(path, samples)
    for text, probability in zip(samples, here):
        print(f"{probability:.3f}  {text}")
    print(f"predictions reloaded in a new process are identical: {here == there}")
    return accuracy


if __name__ == "__main__":
    main()
