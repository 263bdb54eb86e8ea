"""How ``SimpleRNN``, ``LSTM`` and ``GRU`` run over time: torch's fused kernels or a step loop.

Two ways to run a recurrent layer over a ``(batch, steps, features)`` input:

- **fused**: torch's own kernels (``torch._VF.lstm``, ``gru``, ``rnn_tanh``, ``rnn_relu``,
  what ``nn.LSTM`` and friends call) on the Keras weights mapped to torch's layout. Used
  without a mask, and with a right-padded mask through packed sequences, so padding steps
  are never computed.
- **step loop**: a Python loop over time with Keras's step formulas, for what the fused
  kernels cannot do: masks with holes or left padding, recurrent dropout in training,
  activations other than the default ones, GRU's ``reset_after=False``, ``use_cudnn=False``;
  and for ``RNN``, which runs any cell (the convolutional LSTMs' too) with it.

Both follow Keras 3's ``rnn`` backend function on masks: at a masked step the states keep
their previous values and the output repeats the previous output (zeros before the first
unmasked step), or is zero with ``zero_output_for_mask``. ``go_backwards`` processes the
steps last to first and returns the outputs in that (reversed) order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import _VF
from torch._subclasses.fake_tensor import FakeTensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

Tensor = torch.Tensor
#: One step of a cell: (projected input at t, states) -> (output, new states).
StepFunction = Callable[[Tensor, list[Tensor]], tuple[Tensor, list[Tensor]]]
#: What a recurrent run returns: (last output, output sequence or None, final states).
RunResult = tuple[Tensor, Tensor | None, list[Tensor]]

_FUSED = {"lstm": _VF.lstm, "gru": _VF.gru, "tanh": _VF.rnn_tanh, "relu": _VF.rnn_relu}


def right_padded_lengths(mask: Tensor) -> Tensor | None:
    """The per-row lengths (an int64 CPU tensor) of a right-padded ``(batch, steps)`` mask.

    A mask is right-padded when every row is some ``True`` followed only by ``False``; this
    is what packed sequences (and cuDNN) can skip. Any other mask (a hole, left padding)
    gives ``None``. This is the one place that decides which masks the fused kernels take.

    Example:
        >>> right_padded_lengths(torch.tensor([[True, True, False], [True, False, False]]))
        tensor([2, 1])
        >>> right_padded_lengths(torch.tensor([[False, True, True]])) is None
        True
    """
    if isinstance(mask, FakeTensor):  # shape inference of a loaded graph: no values to read
        return None
    lengths = mask.sum(dim=1)
    steps = torch.arange(mask.shape[1], device=mask.device)
    if not torch.equal(steps < lengths[:, None], mask):
        return None
    return lengths.cpu()


def gate_matmul(inputs: Tensor, kernel: Tensor, dropout_masks: Tensor | None) -> Tensor:
    """``inputs @ kernel``, each gate's columns seeing its own dropout mask when given.

    ``dropout_masks`` holds one mask (shared by all gates) or one per gate, each
    broadcastable to ``inputs``: Keras's implementation 2 and 1 of its cells.

    Example:
        >>> masks = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # one per gate
        >>> gate_matmul(torch.ones(1, 2), torch.ones(2, 4), masks).tolist()
        [[1.0, 1.0, 1.0, 1.0]]
    """
    if dropout_masks is None:
        return torch.matmul(inputs, kernel)
    if len(dropout_masks) == 1:
        return torch.matmul(inputs * dropout_masks[0], kernel)
    gates = kernel.chunk(len(dropout_masks), dim=1)
    return torch.cat([torch.matmul(inputs * mask, gate)
                      for mask, gate in zip(dropout_masks, gates)], dim=-1)


def run_steps(step: StepFunction, projected: Tensor, states: list[Tensor], mask: Tensor | None,
              *, go_backwards: bool, return_sequences: bool,
              zero_output_for_mask: bool) -> RunResult:
    """Run ``step`` over the time axis of ``projected`` (the inputs already multiplied by
    the kernel, ``(batch, steps, gates * units)``, or the raw inputs ``(batch, steps, ...)``
    of a cell), with Keras's masking rules. The states may be of any rank (a convolutional
    LSTM's are images); ``mask`` is ``(batch, steps)``.

    Example:
        >>> def running_sum(x_t, states):
        ...     return states[0] + x_t, [states[0] + x_t]
        >>> x, mask = torch.ones(1, 4, 1), torch.tensor([[False, True, False, True]])
        >>> last, sequence, states = run_steps(running_sum, x, [torch.zeros(1, 1)], mask,
        ...     go_backwards=False, return_sequences=True, zero_output_for_mask=False)
        >>> sequence.flatten().tolist(), last.item()
        ([0.0, 1.0, 1.0, 2.0], 2.0)
    """
    if go_backwards:
        projected = projected.flip(1)
        mask = mask.flip(1) if mask is not None else None
    keeps = mask.unbind(1) if mask is not None else None
    outputs: list[Tensor] = []
    output = None
    for t, inputs_t in enumerate(projected.unbind(1)):
        new_output, new_states = step(inputs_t, states)
        if keeps is None:
            output, states = new_output, new_states
        else:
            keep = keeps[t]
            kept = _along_batch(keep, new_output)
            if output is None or zero_output_for_mask:
                # Before the first step the previous output is zeros (Keras's rule).
                output = torch.where(kept, new_output, torch.zeros_like(new_output))
            else:
                output = torch.where(kept, new_output, output)
            states = [torch.where(_along_batch(keep, new), new, old)
                      for new, old in zip(new_states, states)]
        if return_sequences:
            outputs.append(output)
    if output is None:
        raise ValueError("a recurrent layer needs at least one time step, received 0.")
    return output, torch.stack(outputs, dim=1) if return_sequences else None, states


def _along_batch(keep: Tensor, like: Tensor) -> Tensor:
    """A ``(batch,)`` step mask viewed to broadcast over ``like`` (``(batch, units)``, or
    a convolutional state ``(batch, *spatial, filters)``)."""
    return keep.view(-1, *([1] * (like.dim() - 1)))


def run_fused(kind: str, inputs: Tensor, states: list[Tensor] | None,
              weights: Sequence[Tensor], mask: Tensor | None, lengths: Tensor | None, *,
              go_backwards: bool, return_sequences: bool,
              zero_output_for_mask: bool) -> RunResult:
    """Run torch's fused kernel ``kind`` (``"lstm"``, ``"gru"``, ``"tanh"``, ``"relu"``).

    ``weights`` are in torch's layout (``[w_ih, w_hh]`` plus ``[b_ih, b_hh]`` with biases);
    ``states`` ``None`` means zeros. With a mask, it must be right-padded with ``lengths``
    (from :func:`right_padded_lengths`) all at least 1; the result then equals the step
    loop's.

    Example:
        >>> w_ih, w_hh = torch.eye(1), torch.zeros(1, 1)  # h_t = relu(x_t)
        >>> x, mask = torch.tensor([[[1.0], [2.0], [9.0]]]), torch.tensor([[True, True, False]])
        >>> last, sequence, _ = run_fused("relu", x, None, [w_ih, w_hh], mask,
        ...     right_padded_lengths(mask), go_backwards=False, return_sequences=True,
        ...     zero_output_for_mask=False)
        >>> sequence.flatten().tolist()  # the padding repeats the last valid output
        [1.0, 2.0, 2.0]
    """
    fused = _FUSED[kind]
    has_biases = len(weights) == 4
    # Only ``nn.LSTM``'s inter-layer dropout reads this flag, and there is one layer; what
    # matters is that a kernel used for training keeps what its backward pass needs.
    train = torch.is_grad_enabled()
    if states is None:
        zeros = inputs.new_zeros(1, inputs.shape[0], weights[1].shape[1])
        hidden = [zeros, zeros] if kind == "lstm" else [zeros]
    else:
        hidden = [s[None] for s in states]
    if mask is None:
        sequence = inputs.flip(1) if go_backwards else inputs
        hx = tuple(hidden) if kind == "lstm" else hidden[0]
        outputs, *final = fused(sequence, hx, weights, has_biases, 1, 0.0, train, False, True)
        final_states = [s[0] for s in final]
        return final_states[0], outputs if return_sequences else None, final_states

    steps = inputs.shape[1]
    order = None
    if go_backwards:
        # Going backwards over a right-padded row meets its padding first (skipped: states
        # stay, outputs are zeros), then its valid steps last to first. So run forwards over
        # each row's valid part reversed, and put the outputs back where Keras has them.
        positions = torch.arange(steps)[None, :]
        ends = lengths[:, None]
        order = torch.where(positions < ends, ends - 1 - positions, positions).to(inputs.device)
        inputs = inputs.gather(1, order[..., None].expand_as(inputs))
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    if states is not None:
        hidden = [h.index_select(1, packed.sorted_indices) for h in hidden]
    hx = tuple(hidden) if kind == "lstm" else hidden[0]
    data, *final = fused(packed.data, packed.batch_sizes, hx, weights, has_biases, 1, 0.0,
                         train, False)
    final_states = [s[0].index_select(0, packed.unsorted_indices) for s in final]
    last = final_states[0]
    if zero_output_for_mask and order is None:
        # The last output is zero where the last step is padding, as in Keras.
        last = torch.where(mask[:, -1:], last, torch.zeros_like(last))
    if not return_sequences:
        return last, None, final_states
    sequence, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices),
        batch_first=True, total_length=steps)
    if order is not None:
        sequence = sequence.gather(1, order[..., None].expand_as(sequence)).flip(1)
    elif not zero_output_for_mask:
        # Keras repeats the last valid output over the padding; packing leaves zeros there.
        sequence = torch.where(mask[..., None], sequence, final_states[0][:, None])
    return last, sequence if return_sequences else None, final_states


def keep_mask(shape: tuple[int, ...], rate: float, like: Tensor,
              generator: torch.Generator | None) -> Tensor:
    """A Keras dropout mask: each entry ``1 / (1 - rate)`` with probability ``1 - rate``,
    else 0, on ``like``'s device and dtype.

    Example:
        >>> sorted(set(keep_mask((100,), 0.5, torch.ones(1), None).tolist()))
        [0.0, 2.0]
    """
    if generator is None:
        noise = torch.rand(shape, device=like.device, dtype=like.dtype)
    else:
        noise = torch.rand(shape, generator=generator, dtype=like.dtype).to(like.device)
    return (noise >= rate).to(like.dtype) / (1.0 - rate)
