"""Workloads (g) and (o): a small CNN's training step and another's forward, lamina
(channels_last) against plain torch and Keras 3.

The network is Keras's MNIST convnet: Conv2D(32, 3, relu) -> MaxPooling2D -> Conv2D(64, 3,
relu) -> MaxPooling2D -> Flatten -> Dense(10), at batch 64 on (28, 28, 1) images. lamina
runs it as Keras would (channels_last, Keras kernel layouts); the reference is the same
network in plain NCHW torch with the same weights, and Keras 3 (bench/keras_workloads.py)
the same channels_last network with the same weights, in the same torch training loop.
Timing follows ``bench/run.py``: the median of interleaved blocks after warm-up.

(o) is the forward, no gradients, at batch 4 on (32, 32, 3) images of Conv2D(64, 3, relu) ->
Conv2D(64, 3, relu) -> MaxPooling2D -> Conv2D(128, 3, relu) -> GlobalAveragePooling2D ->
Dense(10); the reference is the same in NCHW torch (``nn.Conv2d``, ``F.max_pool2d``,
``mean`` over the spatial axes, ``nn.Linear``) on the images already in NCHW.

Run with ``python bench/cnn.py [--quick] [--threads N]`` (both rows).
"""

from __future__ import annotations

import sys

import torch
from torch import nn

import lamina
from lamina.layers.convolutional import Conv2D
from lamina.layers.core import Dense
from lamina.layers.pooling import GlobalAveragePooling2D
from lamina.layers.pooling_spatial import MaxPooling2D
from lamina.layers.reshaping import Flatten

if __package__:
    from bench.run import measure, ratio_target, row, train_step
else:  # run as a script: bench/ is on sys.path
    from run import measure, ratio_target, row, train_step

import keras_workloads

WORKLOAD = "(g) small CNN train step (64, 28, 28, 1)"
FORWARD_WORKLOAD = "(o) small CNN forward (4, 32, 32, 3), 3 convs + global pooling"


class PlainCNN(nn.Module):
    """The same network as hand-written NCHW PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.fc = nn.Linear(64 * 5 * 5, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def lamina_cnn() -> lamina.Sequential:
    return lamina.Sequential([
        Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
        MaxPooling2D(),
        Conv2D(64, 3, activation="relu"),
        MaxPooling2D(),
        Flatten(),
        Dense(10),
    ])


def copy_weights(ours: lamina.Sequential, plain: PlainCNN) -> None:
    """Keras layouts into torch's: kernels (kh, kw, in, out) -> (out, in, kh, kw), and the
    Dense rows from channels_last (h, w, c) flattening to NCHW (c, h, w) flattening."""
    with torch.no_grad():
        for conv, torch_conv in ((ours.layers[0], plain.conv1), (ours.layers[2], plain.conv2)):
            torch_conv.weight.copy_(conv.kernel.permute(3, 2, 0, 1))
            torch_conv.bias.copy_(conv.bias)
        dense = ours.layers[5]
        plain.fc.weight.copy_(dense.kernel.reshape(5, 5, 64, 10).permute(3, 2, 0, 1)
                              .reshape(10, -1))
        plain.fc.bias.copy_(dense.bias)


def cnn_rows(quick: bool) -> list[dict[str, object]]:
    """Seconds per train step (forward, cross-entropy, backward, Adam): lamina, torch, Keras."""
    torch.manual_seed(0)
    ours, plain = lamina_cnn(), PlainCNN()
    copy_weights(ours, plain)
    images, labels = torch.randn(64, 28, 28, 1), torch.randint(0, 10, (64,))
    images_nchw = images.permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        torch.testing.assert_close(ours(images), plain(images_nchw), rtol=1e-4, atol=1e-5)
    keras_model, note = keras_workloads.candidate(keras_workloads.cnn, ours, images)
    ours.train()
    plain.train()
    step_ours = train_step(ours, torch.optim.Adam(ours.parameters(), lr=1e-3), images, labels)
    step_plain = train_step(plain, torch.optim.Adam(plain.parameters(), lr=1e-3), images_nchw,
                            labels)
    step_keras = None if keras_model is None else train_step(
        keras_model, torch.optim.Adam(keras_model.parameters(), lr=1e-3), images, labels)
    times = measure({"lamina": step_ours, "torch": step_plain, "keras": step_keras},
                    inner=2 if quick else 10, blocks=7 if quick else 15, warmup=3 if quick else 10)
    return [row(WORKLOAD, ratio_target(1.1), times, note)]


class PlainForwardCNN(nn.Module):
    """(o)'s network as hand-written NCHW PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 64, 3), nn.Conv2d(64, 64, 3)
        self.conv3, self.fc = nn.Conv2d(64, 128, 3), nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        x = torch.relu(self.conv3(nn.functional.max_pool2d(x, 2)))
        return self.fc(x.mean(dim=(2, 3)))


def lamina_forward_cnn() -> lamina.Sequential:
    return lamina.Sequential([
        Conv2D(64, 3, activation="relu", input_shape=(32, 32, 3)),
        Conv2D(64, 3, activation="relu"),
        MaxPooling2D(),
        Conv2D(128, 3, activation="relu"),
        GlobalAveragePooling2D(),
        Dense(10),
    ])


def copy_forward_weights(ours: lamina.Sequential, plain: PlainForwardCNN) -> None:
    """Conv kernels (kh, kw, in, out) -> (out, in, kh, kw); the Dense kernel transposed."""
    with torch.no_grad():
        for conv, torch_conv in zip((ours.layers[0], ours.layers[1], ours.layers[3]),
                                    (plain.conv1, plain.conv2, plain.conv3)):
            torch_conv.weight.copy_(conv.kernel.permute(3, 2, 0, 1))
            torch_conv.bias.copy_(conv.bias)
        plain.fc.weight.copy_(ours.layers[5].kernel.T)
        plain.fc.bias.copy_(ours.layers[5].bias)


def forward_rows(quick: bool) -> list[dict[str, object]]:
    """(o) seconds per forward (no gradients) at batch 4: lamina, torch, Keras."""
    torch.manual_seed(0)
    ours, plain = lamina_forward_cnn(), PlainForwardCNN()
    copy_forward_weights(ours, plain)
    images = torch.randn(4, 32, 32, 3)
    images_nchw = images.permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        torch.testing.assert_close(ours(images), plain(images_nchw), rtol=1e-4, atol=1e-5)
    keras_model, note = keras_workloads.candidate(keras_workloads.forward_cnn, ours, images)
    with torch.no_grad():
        times = measure({"lamina": lambda: ours(images), "torch": lambda: plain(images_nchw),
                         "keras": None if keras_model is None else lambda: keras_model(images)},
                        inner=20 if quick else 100, blocks=7 if quick else 15,
                        warmup=10 if quick else 30)
    return [row(FORWARD_WORKLOAD, ratio_target(1.05), times, note)]


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("go", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())
