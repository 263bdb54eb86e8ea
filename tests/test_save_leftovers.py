"""Saving leaves nothing behind, even when killed, and its errors name the user's path."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from lamina import demo, layers
from lamina.callbacks import LambdaCallback, ModelCheckpoint
from lamina.errors import LaminaError, SaveError
from lamina.saving import atomic

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1600  # four Dense(1600) layers: 41 MB of weights

# The child builds the model, saves it once, then saves it again and again; with "hang"
# the repeated save stops half-way through writing, so the kill lands mid-write.
CHILD = """
import sys, time
import torch
import lamina
from lamina import layers
from lamina.saving import archive, atomic

target, mode, width = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
model = lamina.Sequential([layers.Dense(width, input_shape=(width,))]
                          + [layers.Dense(width) for _ in range(3)])
if "named" in mode:
    atomic._open_anonymous = lambda folder: None
model.save(target)
if "hang" in mode:
    def hang(raw, members):
        raw.write(b"\\0" * (8 << 20))
        raw.flush()
        print("writing", flush=True)
        time.sleep(600)
    archive.write_stored_zip = hang
print("ready", flush=True)
while True:
    model.save(target)
"""


def _expected_model() -> lamina.Sequential:
    torch.manual_seed(0)
    return lamina.Sequential([layers.Dense(WIDTH, input_shape=(WIDTH,))]
                             + [layers.Dense(WIDTH) for _ in range(3)])


@pytest.fixture(scope="module")
def expected() -> lamina.Sequential:
    return _expected_model()


@pytest.fixture
def start() -> Iterator[Callable[[Path, str], subprocess.Popen]]:
    """Starts a saving child; any still running when the test ends is killed."""
    children: list[subprocess.Popen] = []

    def run(target: Path, mode: str) -> subprocess.Popen:
        command = [sys.executable, "-c", CHILD, str(target), mode, str(WIDTH)]
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        children.append(child)
        line = child.stdout.readline()
        assert line == "ready\n", f"the saving child did not start: {line!r}"
        return child

    yield run
    for child in children:
        _kill(child)


def _kill(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()


def _anonymous_files_here(folder: Path) -> bool:
    handle = atomic._open_anonymous(str(folder))
    if handle is None:
        return False
    os.close(handle)
    return True


def _assert_loads_as(path: Path, expected: lamina.Sequential) -> None:
    loaded = lamina.load_model(path)
    assert all(torch.equal(a, b) for a, b in zip(expected.weights, loaded.weights, strict=True))


def _assert_only_the_target(folder: Path, expected: lamina.Sequential) -> None:
    assert sorted(os.listdir(folder)) == ["model.lamina"]
    _assert_loads_as(folder / "model.lamina", expected)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".lamina-"))


def test_killed_at_random_moments_leaves_only_a_loadable_target(
        tmp_path: Path, expected: lamina.Sequential, start: Callable) -> None:
    moments = random.Random(13)
    for _ in range(3):
        child = start(tmp_path / "model.lamina", "loop")
        time.sleep(moments.uniform(0.0, 0.15))
        _kill(child)
        if not _anonymous_files_here(tmp_path):
            expected.save(tmp_path / "model.lamina")  # the next save removes the leftover
        _assert_only_the_target(tmp_path, expected)


def test_killed_mid_write_leaves_only_the_old_target(
        tmp_path: Path, expected: lamina.Sequential, start: Callable) -> None:
    if not _anonymous_files_here(tmp_path):
        pytest.skip("no O_TMPFILE here: the named fallback is tested below")
    child = start(tmp_path / "model.lamina", "hang")
    assert child.stdout.readline() == "writing\n"
    _kill(child)
    _assert_only_the_target(tmp_path, expected)


def test_the_next_save_removes_what_a_killed_named_save_left(
        tmp_path: Path, expected: lamina.Sequential, start: Callable) -> None:
    child = start(tmp_path / "model.lamina", "named hang")
    assert child.stdout.readline() == "writing\n"
    left = _leftovers(tmp_path)
    assert len(left) == 1 and f"-{child.pid}-" in left[0]
    _kill(child)
    assert _leftovers(tmp_path) == left  # the kill leaves it; the next save removes it
    small = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    small.save(tmp_path / "other.lamina")
    assert sorted(os.listdir(tmp_path)) == ["model.lamina", "other.lamina"]
    _assert_loads_as(tmp_path / "model.lamina", expected)


def _dead_pid() -> int:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


def test_only_lamina_files_of_dead_processes_are_removed(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic, "_open_anonymous", lambda folder: None)
    origin = atomic._origin()
    dead, alive = _dead_pid(), os.getppid()
    stale = tmp_path / f".lamina-{origin}-{dead}-{'a' * 16}.tmp"
    kept = {
        "live": tmp_path / f".lamina-{origin}-{alive}-{'b' * 16}.tmp",
        "other origin": tmp_path / f".lamina-{'0' * 8 if origin != '0' * 8 else '1' * 8}-"
                                   f"{dead}-{'c' * 16}.tmp",
        "old pattern": tmp_path / f".lamina-{'d' * 16}.tmp",
        "not lamina's": tmp_path / f"lamina-{origin}-{dead}-{'e' * 16}.tmp",
    }
    for path in [stale, *kept.values()]:
        path.write_bytes(b"partial")
    outside = tmp_path / "precious"
    outside.write_bytes(b"keep me")
    link = tmp_path / f".lamina-{origin}-{dead}-{'f' * 16}.tmp"
    link.symlink_to(outside)
    directory = tmp_path / f".lamina-{origin}-{dead}-{'9' * 16}.tmp"
    directory.mkdir()
    lamina.Sequential([layers.Dense(2, input_shape=(3,))]).save(tmp_path / "model.lamina")
    assert not stale.exists()
    assert all(path.exists() for path in kept.values())
    assert link.is_symlink() and outside.read_bytes() == b"keep me"
    assert directory.is_dir()


def _refuse_link(*args: object, **kwargs: object) -> None:
    raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))


@pytest.fixture(params=["anonymous", "named", "anonymous, link refused"])
def temporary_kind(request: pytest.FixtureRequest, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way atomic_write may write: an O_TMPFILE file linked into place, a named
    file (no O_TMPFILE), an O_TMPFILE file copied to a named one (linking refused)."""
    if request.param == "named":
        monkeypatch.setattr(atomic, "_open_anonymous", lambda folder: None)
        return request.param
    if not _anonymous_files_here(tmp_path):
        pytest.skip("no O_TMPFILE here")
    if request.param.endswith("refused"):
        monkeypatch.setattr(os, "link", _refuse_link)
    return request.param


def test_modes_and_content_on_either_path(tmp_path: Path, temporary_kind: str) -> None:
    previous = os.umask(0o022)
    try:
        path = tmp_path / "data.bin"
        atomic.atomic_write(path, lambda raw: raw.write(b"one"))
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o600)
        atomic.atomic_write(path, lambda raw: raw.write(b"two"))
    finally:
        os.umask(previous)
    assert path.read_bytes() == b"two" and path.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["data.bin"]


def _full_disk(raw) -> None:
    raw.write(b"half a file")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_names_the_path_and_keeps_the_old_file(tmp_path: Path,
                                                            temporary_kind: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    with pytest.raises(SaveError, match="no space left") as raised:
        atomic.atomic_write(path, _full_disk)
    assert str(path) in str(raised.value) and raised.value.errno == errno.ENOSPC
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["data.bin"]


@pytest.fixture
def read_only_directory(tmp_path: Path) -> Iterator[Path]:
    """A directory no file can be created in, also when the tests run as root (where
    only the immutable attribute stops a write)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.name == "posix" and os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(folder)],
                                            capture_output=True).returncode != 0:
            pytest.skip("running as root, and cannot make a directory immutable here")
        try:
            yield folder
        finally:
            subprocess.run([chattr, "-i", str(folder)], check=True)
        return
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)


SAVERS: dict[str, Callable[[lamina.Sequential, str], None]] = {
    "save": lambda model, path: model.save(path),
    "save_weights": lambda model, path: model.save_weights(path),
}


@pytest.mark.parametrize("saver", sorted(SAVERS))
@pytest.mark.parametrize("case,expected_message", [
    ("missing/nested/model.lamina", "directory '.*missing/nested' does not exist"),
    ("afile/model.lamina", "'.*afile' is a file, not a directory"),
    ("adir", "it is a directory"),
])
def test_errors_name_the_users_path(tmp_path: Path, saver: str, case: str,
                                    expected_message: str) -> None:
    (tmp_path / "afile").write_bytes(b"a file")
    (tmp_path / "adir").mkdir()
    target = str(tmp_path / case)
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(SaveError, match=expected_message) as raised:
        SAVERS[saver](model, target)
    error = raised.value
    assert isinstance(error, OSError) and isinstance(error, LaminaError)
    assert f"Cannot save to '{target}'" in str(error) and ".tmp" not in str(error)
    assert error.filename == target
    assert sorted(os.listdir(tmp_path)) == ["adir", "afile"] and not _leftovers(tmp_path)


@pytest.mark.parametrize("saver", sorted(SAVERS))
def test_a_read_only_directory_is_named(read_only_directory: Path, saver: str) -> None:
    target = str(read_only_directory / "model.lamina")
    with pytest.raises(SaveError, match="no permission to create files") as raised:
        SAVERS[saver](lamina.Sequential([layers.Dense(2, input_shape=(3,))]), target)
    assert isinstance(raised.value, OSError) and target in str(raised.value)
    assert os.listdir(read_only_directory) == []


def _regression() -> tuple[lamina.Sequential, np.ndarray, np.ndarray]:
    torch.manual_seed(0)
    model = lamina.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    return model, x, x.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", ["ckpt.lamina", "ckpt.safetensors", "{epoch}/ckpt.lamina"])
def test_model_checkpoint_creates_missing_directories(tmp_path: Path, name: str) -> None:
    model, x, y = _regression()
    filepath = tmp_path / "runs" / "deep" / name
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(
        filepath, monitor="loss", save_weights_only=name.endswith(".safetensors"))])
    written = Path(str(filepath).format(epoch=1))
    assert written.is_file()
    assert _leftovers(tmp_path) == []


def test_model_checkpoint_refuses_an_unwritable_path_before_the_first_epoch(
        tmp_path: Path) -> None:
    (tmp_path / "afile").write_bytes(b"a file")
    model, x, y = _regression()
    epochs: list[int] = []
    target = str(tmp_path / "afile" / "ckpt.lamina")
    with pytest.raises(SaveError, match="afile' is a file") as raised:
        model.fit(x, y, epochs=2, verbose=0, callbacks=[
            ModelCheckpoint(target, monitor="loss"),
            LambdaCallback(on_epoch_begin=lambda epoch, logs: epochs.append(epoch))])
    assert target in str(raised.value) and epochs == []


def test_demo_refuses_an_unwritable_save_path_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "afile").write_bytes(b"a file")
    target = str(tmp_path / "afile" / "model.lamina")
    started = time.perf_counter()
    with pytest.raises(SaveError, match="afile' is a file") as raised:
        demo.run(epochs=1, plot_path=None, save_path=target, verbose=0)
    assert time.perf_counter() - started < 5
    assert target in str(raised.value)
    assert capsys.readouterr().out == ""
