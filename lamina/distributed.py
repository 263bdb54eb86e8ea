"""Training on several processes: what a script asks about its place, and ``launch``.

Launched with ``torchrun --nproc_per_node=N script.py``, ``fit`` trains data-parallel by
itself (see ``lamina/training/distributed.py``); a script only has to keep rank-only work,
such as saving, to rank 0::

    model.fit(x, y, epochs=5, batch_size=64)   # batch_size per process
    if lamina.distributed.is_main_process():
        model.save("model.lamina")

:func:`launch` starts the N processes from Python instead, for tests and notebooks. Each
process runs ``fn(*args)`` in a process group on this machine (``gloo`` for CPU tensors),
and ``launch`` returns what every rank returned. When a rank raises, the others are
stopped and ``launch`` raises a :class:`DistributedError` with that rank's traceback, so
nothing waits forever for a rank that is gone.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

import torch

from lamina.errors import ArgumentError, DistributedError
from lamina.training.distributed import current, initialize, is_main_process, leave_group

__all__ = ["DistributedError", "is_main_process", "launch", "rank", "world_size"]

#: Seconds the other ranks get to finish on their own after one fails, before they are
#: stopped (they usually fail at once too, their peer's sockets being closed).
GRACE_SECONDS = 2.0


def rank() -> int:
    """This process's rank in the process group (0 when training alone).

    Example:
        >>> rank(), world_size(), is_main_process()
        (0, 1, True)
    """
    group = current()
    return 0 if group is None else group.rank


def world_size() -> int:
    """How many processes train together (1 when training alone)."""
    group = current()
    return 1 if group is None else group.world_size


def launch(fn: Callable[..., Any], nproc: int, *args: Any, timeout: float | None = None,
           start_method: str = "auto") -> list[Any]:
    """Run ``fn(*args)`` in ``nproc`` processes that train together; returns their results.

    Each process gets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` as under ``torchrun``
    and has joined the process group when ``fn`` starts, so ``fit`` in ``fn`` trains
    data-parallel. On CPU each process uses ``cpu_count // nproc`` torch threads (one with
    ``fork``, where torch's thread pool cannot be reused).

    Args:
        fn: The function; with ``spawn`` it must be importable (defined at the top of a
            module) and its arguments and result picklable.
        nproc: How many processes, at least 1.
        *args: Passed to ``fn`` in every process.
        timeout: Seconds the whole run may take, and a collective may wait, before every
            rank is stopped with a :class:`DistributedError`. Default: no limit.
        start_method: ``"spawn"``, ``"fork"``, or ``"auto"``: ``spawn`` when ``fn`` can be
            imported by name, else ``fork`` (functions defined in a notebook or a REPL;
            ``fork`` cannot be used once this process has initialised CUDA).

    Returns:
        ``fn``'s return value from each rank, in rank order.

    Raises:
        DistributedError: a rank raised (its traceback is in the message), died, or the
            run took longer than ``timeout``. The other ranks are stopped first.

    Example:
        >>> launch(pow, 1, 2, 10, start_method="fork")  # nproc=2 and more train together
        [1024]
    """
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ArgumentError(f"launch: nproc must be an int >= 1, received {nproc!r}.")
    if start_method == "auto":
        start_method = "spawn" if _importable(fn) else "fork"
    if start_method not in multiprocessing.get_all_start_methods():
        raise ArgumentError(f"launch: start_method must be 'auto' or one of "
                            f"{multiprocessing.get_all_start_methods()}, received "
                            f"{start_method!r}.")
    context = multiprocessing.get_context(start_method)
    port = _free_port()
    readers: list[Connection] = []
    processes = []
    for index in range(nproc):
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(
            target=_run_rank, name=f"lamina-rank-{index}",
            args=(fn, args, index, nproc, port, timeout, start_method == "fork", writer))
        process.start()
        writer.close()  # the child holds the only writer: its exit ends the pipe
        readers.append(reader)
        processes.append(process)
    try:
        return _collect(readers, processes, timeout)
    finally:
        _stop(processes)
        for reader in readers:
            reader.close()


def _importable(fn: Callable[..., Any]) -> bool:
    """Whether a spawned process can find ``fn`` by its module and qualified name."""
    module_name = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    if not module_name or "<" in qualname:
        return False
    if module_name == "__main__":
        main = sys.modules.get("__main__")
        return bool(getattr(main, "__file__", None)) and getattr(main, qualname, None) is fn
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError:
        return False
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target is fn


def _free_port() -> int:
    # The port is only reserved until the socket closes; rank 0 binds it again at once.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_rank(fn: Callable[..., Any], args: tuple[Any, ...], index: int, nproc: int,
              port: int, timeout: float | None, forked: bool, writer: Connection) -> None:
    """The body of one rank: join the group, run ``fn``, send back its result or error."""
    os.environ.update({"RANK": str(index), "LOCAL_RANK": str(index), "WORLD_SIZE": str(nproc),
                       "LOCAL_WORLD_SIZE": str(nproc), "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(port)})
    if forked:
        torch.set_num_threads(1)  # a forked child hangs in the parent's OpenMP pool
    elif "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))
    try:
        if nproc > 1:
            initialize(timeout)
        message: tuple[Any, ...] = ("ok", fn(*args))
    except BaseException as error:  # noqa: B036 - any failure must reach the parent
        message = ("error", f"{type(error).__name__}: {error}", traceback.format_exc())
    try:
        writer.send(message)
    except Exception as error:  # an unpicklable result
        writer.send(("error", f"the result of rank {index} cannot be sent back: {error}",
                     traceback.format_exc()))
    writer.close()
    if message[0] == "ok":
        leave_group()  # multiprocessing ends its processes without running atexit hooks
        return
    # Exit now rather than wait for peers stuck in a collective: closing this rank's
    # sockets makes their collectives fail at once instead of at the group's timeout.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def _collect(readers: list[Connection], processes: list[Any],
             timeout: float | None) -> list[Any]:
    deadline = None if timeout is None else time.monotonic() + timeout
    results: dict[int, Any] = {}
    pending = dict(enumerate(readers))
    while pending:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready = wait(list(pending.values()), timeout=left)
        if not ready:
            raise DistributedError(
                f"launch: rank(s) {sorted(pending)} still running after the timeout of "
                f"{timeout} s; every rank was stopped. A rank waiting forever usually means "
                "the ranks took different numbers of steps, or one never called fit.")
        for index in [i for i, reader in pending.items() if reader in ready]:
            reader = pending.pop(index)
            try:
                message = reader.recv()
            except EOFError:
                processes[index].join(GRACE_SECONDS)
                message = ("error", f"the process ended with exit code "
                                    f"{processes[index].exitcode} before returning", "")
            if message[0] == "ok":
                results[index] = message[1]
                continue
            _, summary, details = message
            _stop(processes, grace=GRACE_SECONDS)
            raise DistributedError(
                f"launch: rank {index} of {len(processes)} failed with {summary}; every "
                f"rank was stopped.\n\nTraceback of rank {index}:\n{details}".rstrip())
    return [results[index] for index in range(len(processes))]


def _stop(processes: list[Any], grace: float = 0.0) -> None:
    """Let the processes end within ``grace`` seconds, then terminate, then kill them."""
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join()
