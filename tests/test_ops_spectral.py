"""lamina.ops' Fourier transforms, STFT/ISTFT, windows and complex views against Keras 3
(torch backend) on the same inputs: values, shapes, dtypes, gradients and errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina
from lamina import ops
from lamina.errors import ArgumentError, ArgumentTypeError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

RNG = np.random.default_rng(0)
REAL = RNG.normal(size=(2, 3, 16)).astype("float32")
IMAG = RNG.normal(size=(2, 3, 16)).astype("float32")
SIGNAL = RNG.normal(size=(2, 3, 64)).astype("float32")


def same(ours: object, theirs: object, atol: float = 1e-5) -> None:
    ours_flat = ours if isinstance(ours, (tuple, list)) else [ours]
    theirs_flat = theirs if isinstance(theirs, (tuple, list)) else [theirs]
    assert len(ours_flat) == len(theirs_flat)
    for mine, reference in zip(ours_flat, theirs_flat):
        reference = keras.ops.convert_to_numpy(reference)
        mine = mine.detach().numpy()
        assert mine.shape == reference.shape and mine.dtype == reference.dtype
        np.testing.assert_allclose(mine, reference, atol=atol, rtol=1e-5)


@pytest.mark.parametrize("name", ["fft", "fft2", "ifft2"])
def test_complex_transforms_match_keras(name: str) -> None:
    same(getattr(ops, name)((REAL, IMAG)), getattr(keras.ops, name)((REAL, IMAG)), atol=1e-4)


@pytest.mark.parametrize("fft_length", [None, 10, 32])
def test_real_transforms_match_keras(fft_length: int | None) -> None:
    same(ops.rfft(SIGNAL, fft_length), keras.ops.rfft(SIGNAL, fft_length), atol=1e-4)
    half = ops.rfft(SIGNAL)
    same(ops.irfft(half, fft_length),
         keras.ops.irfft(tuple(t.numpy() for t in half), fft_length), atol=1e-5)


@pytest.mark.parametrize(("length", "stride", "fft_length", "window", "center"), [
    (16, 4, 16, "hann", True),
    (16, 8, 32, "hamming", True),
    (12, 5, 16, "hann", False),
    (16, 4, 16, None, True),
    (8, 4, 8, "window_array", False),
])
def test_stft_and_istft_match_keras(length: int, stride: int, fft_length: int, window: object,
                                    center: bool) -> None:
    if window == "window_array":
        window = np.hanning(length).astype("float32")
    ours = ops.stft(SIGNAL, length, stride, fft_length, window=window, center=center)
    theirs = keras.ops.stft(SIGNAL, length, stride, fft_length, window=window, center=center)
    same(ours, theirs, atol=1e-4)
    pair = tuple(t.numpy() for t in ours)
    for size in (None, 40):
        same(ops.istft(pair, length, stride, fft_length, length=size, window=window,
                       center=center),
             keras.ops.istft(pair, length, stride, fft_length, length=size, window=window,
                             center=center), atol=1e-4)


def test_istft_inverts_stft() -> None:
    pair = ops.stft(SIGNAL, 16, 4, 16)
    back = ops.istft(pair, 16, 4, 16, length=64)
    torch.testing.assert_close(back, torch.from_numpy(SIGNAL), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["hamming", "hanning", "bartlett", "blackman"])
@pytest.mark.parametrize("points", [0, 1, 5, 8])
def test_windows_match_keras_and_numpy(name: str, points: int) -> None:
    same(getattr(ops, name)(points), getattr(keras.ops, name)(points))
    np.testing.assert_allclose(getattr(ops, name)(points).numpy(),
                               getattr(np, name)(points), atol=1e-6)


def test_kaiser_complex_views_and_polar_match_keras() -> None:
    same(ops.kaiser(7, 3.5), keras.ops.kaiser(7, 3.5))
    stacked = np.stack([REAL, IMAG], axis=-1)
    ours = ops.view_as_complex(stacked)
    theirs = keras.ops.convert_to_numpy(keras.ops.view_as_complex(stacked))
    np.testing.assert_allclose(ours.numpy(), theirs)
    np.testing.assert_allclose(ops.view_as_real(ours).numpy(),
                               keras.ops.convert_to_numpy(keras.ops.view_as_real(theirs)))
    magnitude, angle = np.abs(REAL), IMAG
    np.testing.assert_allclose(ops.polar(magnitude, angle).numpy(),
                               keras.ops.convert_to_numpy(keras.ops.polar(magnitude, angle)),
                               rtol=1e-6)


def test_gradients_flow_through_rfft_and_stft() -> None:
    signal = torch.from_numpy(SIGNAL).requires_grad_()
    real, imag = ops.rfft(signal)
    (real.square() + imag.square()).sum().backward()
    # Parseval: the gradient of the spectrum's energy is a scaled signal.
    reference = torch.from_numpy(SIGNAL).requires_grad_()
    spectrum = torch.fft.rfft(reference)
    spectrum.abs().square().sum().backward()
    torch.testing.assert_close(signal.grad, reference.grad)
    signal.grad = None
    real, imag = ops.stft(signal, 16, 4, 16)
    real.sum().backward()
    assert signal.grad is not None and torch.isfinite(signal.grad).all()


def test_spectral_ops_on_symbolic_tensors_build_a_model() -> None:
    inputs = lamina.Input(shape=(64,))
    real, imag = ops.stft(inputs, 16, 4, 16)
    magnitude = ops.sqrt(ops.square(real) + ops.square(imag))
    model = lamina.Model(inputs, magnitude)
    assert model.output_shape == (None, 17, 9)
    data = torch.from_numpy(SIGNAL[0])
    expected_real, expected_imag = ops.stft(data, 16, 4, 16)
    torch.testing.assert_close(model(data), (expected_real ** 2 + expected_imag ** 2).sqrt())


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ArgumentError, match="real, imaginary"):
        ops.fft(REAL)
    with pytest.raises(ArgumentError, match="one shape"):
        ops.fft((REAL, IMAG[:, :1]))
    with pytest.raises(ArgumentTypeError, match="must be floats"):
        ops.fft((np.ones(3, "int32"), np.ones(3, "int32")))
    with pytest.raises(ArgumentError, match="at least sequence_length"):
        ops.stft(SIGNAL, 16, 4, 8)
    with pytest.raises(ArgumentError, match="'hann' or 'hamming'"):
        ops.stft(SIGNAL, 16, 4, 16, window="bartlett")
    with pytest.raises(ArgumentTypeError, match="float32 or float64"):
        ops.stft(np.ones((2, 64), "int32"), 16, 4, 16)
    with pytest.raises(ArgumentError, match="last axis must have size 2"):
        ops.view_as_complex(np.ones((2, 3), "float32"))
    with pytest.raises(ArgumentTypeError, match="complex"):
        ops.view_as_real(np.ones(3, "float32"))


@pytest.mark.parametrize(("shape", "size", "data_format"), [
    ((2, 10, 3), 4, "channels_last"),
    ((2, 3, 10), (3,), "channels_first"),
    ((2, 9, 7, 3), (4, 3), "channels_last"),
    ((2, 3, 9, 7), 5, "channels_first"),
    ((1, 6, 5, 4, 2), (3, 2, 2), "channels_last"),
])
def test_adaptive_pools_match_keras(shape: tuple, size: object, data_format: str) -> None:
    x = RNG.normal(size=shape).astype("float32")
    for name in ("adaptive_average_pool", "adaptive_max_pool"):
        same(getattr(ops, name)(x, size, data_format=data_format),
             getattr(keras.ops, name)(x, size, data_format=data_format))


def test_unfold_and_fold_match_keras() -> None:
    images = RNG.normal(size=(2, 3, 8, 7)).astype("float32")
    arguments = {"kernel_size": (3, 2), "dilation": 1, "padding": 1, "stride": 2}
    columns = ops.unfold(images, **arguments)
    # Keras's torch unfold/fold take torch tensors only (numpy input fails there).
    same(columns, keras.ops.unfold(torch.from_numpy(images), **arguments))
    same(ops.fold(columns, (8, 7), **arguments),
         keras.ops.fold(columns.clone(), (8, 7), **arguments))
