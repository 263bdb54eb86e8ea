"""Fourier transforms, short-time transforms and window functions, with Keras's arguments.

Keras passes complex values as ``(real, imaginary)`` pairs of float tensors; so do these
ops (``fft((re, im))`` returns ``(re, im)``), and ``view_as_complex`` / ``view_as_real``
convert between such pairs' stacked form and torch's complex tensors. Windows are numpy's
symmetric ones (``hamming(5)`` is ``np.hamming(5)``).

Example:
    >>> import torch
    >>> real, imag = rfft(torch.tensor([1.0, 0.0, -1.0, 0.0]))
    >>> real.tolist(), imag.tolist()
    ([0.0, 2.0, 0.0], [0.0, 0.0, 0.0])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import tensor

Pair = tuple[torch.Tensor, torch.Tensor]


def _complex(x: Any, caller: str) -> torch.Tensor:
    """The complex tensor a ``(real, imaginary)`` pair of float tensors stands for."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ArgumentError(f"{caller}: expected a (real, imaginary) pair of tensors, "
                            f"received {type(x).__name__}. Pass x=(real, imag).")
    real, imag = tensor(x[0]), tensor(x[1])
    if real.shape != imag.shape:
        raise ArgumentError(f"{caller}: the real and imaginary parts must have one shape, "
                            f"received {tuple(real.shape)} and {tuple(imag.shape)}.")
    if not (real.is_floating_point() and imag.is_floating_point()):
        raise ArgumentTypeError(f"{caller}: the real and imaginary parts must be floats, "
                                f"received {real.dtype} and {imag.dtype}.")
    return torch.complex(real, imag)


def _pair(value: torch.Tensor) -> Pair:
    return value.real, value.imag


@symbolic_op
def fft(x: Any) -> Pair:
    """The discrete Fourier transform over the last axis of ``(real, imag)``."""
    return _pair(torch.fft.fft(_complex(x, "fft")))


@symbolic_op
def fft2(x: Any) -> Pair:
    """The 2-D discrete Fourier transform over the last two axes of ``(real, imag)``."""
    return _pair(torch.fft.fft2(_complex(x, "fft2")))


@symbolic_op
def ifft2(x: Any) -> Pair:
    """The inverse of :func:`fft2`."""
    return _pair(torch.fft.ifft2(_complex(x, "ifft2")))


@symbolic_op
def rfft(x: Any, fft_length: int | None = None) -> Pair:
    """The Fourier transform of a real signal (last axis): ``fft_length // 2 + 1`` bins."""
    return _pair(torch.fft.rfft(tensor(x), n=fft_length, dim=-1))


@symbolic_op
def irfft(x: Any, fft_length: int | None = None) -> torch.Tensor:
    """The real signal whose :func:`rfft` is ``(real, imag)``."""
    return torch.fft.irfft(_complex(x, "irfft"), n=fft_length, dim=-1)


def _window(window: Any, length: int, dtype: torch.dtype, device: torch.device,
            caller: str) -> torch.Tensor | None:
    """Keras's STFT window: ``"hann"``/``"hamming"`` (periodic), a tensor, or ``None``."""
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ArgumentError(f"{caller}: a window name must be 'hann' or 'hamming', "
                                f"received {window!r}.")
        make = torch.hann_window if window == "hann" else torch.hamming_window
        return make(length, periodic=True, dtype=dtype, device=device)
    values = tensor(window).to(dtype=dtype, device=device)
    if values.dim() != 1 or values.shape[0] != length:
        raise ArgumentError(f"{caller}: the window must have shape ({length},) (the "
                            f"sequence_length), received {tuple(values.shape)}.")
    return values


@symbolic_op
def stft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int,
         window: Any = "hann", center: bool = True) -> Pair:
    """The short-time Fourier transform of real signals over their last axis, as
    ``(real, imag)`` of shape ``(..., frames, fft_length // 2 + 1)``."""
    signal = tensor(x)
    if signal.dtype not in (torch.float32, torch.float64):
        raise ArgumentTypeError(f"stft: expected float32 or float64 signals, received "
                                f"{signal.dtype}.")
    if fft_length < sequence_length:
        raise ArgumentError(f"stft: fft_length ({fft_length}) must be at least "
                            f"sequence_length ({sequence_length}).")
    win = _window(window, sequence_length, signal.dtype, signal.device, "stft")
    if win is None:
        win = torch.ones(sequence_length, dtype=signal.dtype, device=signal.device)
    *batch, samples = signal.shape
    spectrum = torch.stft(signal.reshape(-1, samples), n_fft=fft_length,
                          hop_length=sequence_stride, win_length=sequence_length,
                          window=win, center=center, return_complex=True)
    spectrum = spectrum.reshape(*batch, *spectrum.shape[-2:]).transpose(-2, -1)
    return _pair(spectrum)


@symbolic_op
def istft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int,
          length: int | None = None, window: Any = "hann", center: bool = True
          ) -> torch.Tensor:
    """The signals whose :func:`stft` is ``x`` (``length`` samples when given)."""
    spectrum = _complex(x, "istft")
    dtype, device = spectrum.real.dtype, spectrum.device
    win = _window(window, sequence_length, dtype, device, "istft")
    *batch, frames, bins = spectrum.shape
    if sequence_length == fft_length and center and win is not None and fft_length > 1:
        signal = torch.istft(spectrum.reshape(-1, frames, bins).transpose(-2, -1),
                             n_fft=fft_length, hop_length=sequence_stride,
                             win_length=sequence_length, window=win, center=True,
                             length=length, return_complex=False)
        return signal.reshape(*batch, signal.shape[-1])
    pieces = torch.fft.irfft(spectrum, n=fft_length, dim=-1)  # (..., frames, fft_length)
    if win is not None:
        left = (fft_length - sequence_length) // 2
        win = F.pad(win, (left, fft_length - sequence_length - left))
        # Divide by the squared windows summed over the frames that overlap each sample
        # position within a stride (tf.signal.inverse_stft_window_fn's normalisation).
        overlaps = -(-fft_length // sequence_stride)
        squares = F.pad(win.square(), (0, overlaps * sequence_stride - fft_length))
        per_phase = squares.reshape(overlaps, sequence_stride).sum(0)
        pieces = pieces * (win / per_phase.repeat(overlaps)[:fft_length])
    total = fft_length + sequence_stride * (frames - 1)
    flat = pieces.reshape(-1, frames, fft_length).transpose(1, 2)
    signal = F.fold(flat, output_size=(1, total), kernel_size=(1, fft_length),
                    stride=(1, sequence_stride)).reshape(*batch, total)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = total - fft_length // 2 if center else total
    return signal[..., start:end]


def _length(x: Any, caller: str) -> int:
    value = x.item() if isinstance(x, torch.Tensor) else x
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ArgumentError(f"{caller}: expected a window length >= 0, received {x!r}.")
    return value


@symbolic_op
def hamming(x: Any) -> torch.Tensor:
    """The Hamming window of ``x`` points (numpy's ``np.hamming``)."""
    return torch.signal.windows.hamming(_length(x, "hamming"))


@symbolic_op
def hanning(x: Any) -> torch.Tensor:
    """The Hann window of ``x`` points (numpy's ``np.hanning``)."""
    return torch.signal.windows.hann(_length(x, "hanning"))


@symbolic_op
def bartlett(x: Any) -> torch.Tensor:
    """The Bartlett (triangular) window of ``x`` points (numpy's ``np.bartlett``)."""
    return torch.signal.windows.bartlett(_length(x, "bartlett"))


@symbolic_op
def blackman(x: Any) -> torch.Tensor:
    """The Blackman window of ``x`` points (numpy's ``np.blackman``)."""
    return torch.signal.windows.blackman(_length(x, "blackman"))


@symbolic_op
def kaiser(x: Any, beta: float) -> torch.Tensor:
    """The Kaiser window of ``x`` points with shape ``beta`` (numpy's ``np.kaiser``)."""
    return torch.signal.windows.kaiser(_length(x, "kaiser"), beta=float(beta))


@symbolic_op
def view_as_complex(x: Any) -> torch.Tensor:
    """A complex tensor from real values whose last axis (size 2) is (real, imaginary)."""
    values = tensor(x)
    if values.dim() == 0 or values.shape[-1] != 2:
        raise ArgumentError(f"view_as_complex: the last axis must have size 2 (real, "
                            f"imaginary), received shape {tuple(values.shape)}.")
    return torch.view_as_complex(values.contiguous())


@symbolic_op
def view_as_real(x: Any) -> torch.Tensor:
    """The real view of a complex tensor: a new last axis of (real, imaginary)."""
    values = tensor(x)
    if not values.is_complex():
        raise ArgumentTypeError(f"view_as_real: expected a complex tensor, received "
                                f"{values.dtype}.")
    return torch.view_as_real(values)


@symbolic_op
def polar(abs: Any, angle: Any) -> torch.Tensor:  # noqa: A002 - Keras's argument name
    """The complex numbers of magnitude ``abs`` and phase ``angle``."""
    magnitude, phase = tensor(abs), tensor(angle)
    if not magnitude.is_floating_point():
        magnitude = magnitude.float()
    return torch.polar(magnitude, phase.to(magnitude.dtype))
