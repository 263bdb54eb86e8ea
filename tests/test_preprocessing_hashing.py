"""``Hashing`` and the hashed OOV buckets of the lookup layers: TensorFlow's hash functions
(FarmHash ``Fingerprint64``, SipHash-2-4) reimplemented in numpy, checked against the
FarmHash C library (pyfarmhash, the dev extra), SipHash's reference vectors and a
pure-Python SipHash; the layers against the bins TensorFlow gives in Keras's own docstrings
and tests (``keras/src/layers/preprocessing/hashing.py``, ``hashing_test.py``,
``integer_lookup.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.layers.preprocessing_hashing import hash_buckets
from lamina.utils.byte_strings import pack
from lamina.utils.farmhash import fingerprint64
from lamina.utils.siphash import siphash24

try:
    import farmhash
except ImportError:  # pragma: no cover - the dev extra installs it
    farmhash = None

needs_farmhash = pytest.mark.skipif(
    farmhash is None, reason="pyfarmhash (FarmHash's C library, in the dev extra) is not "
    "installed: no reference to check lamina.utils.farmhash against")

# SipHash-2-4 of the messages 00, 00 01, ..., 00..3e under the key 00 01 .. 0f: the
# reference implementation's vectors (the paper's test vectors), little-endian bytes.
SIPHASH_VECTORS = [
    "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",
    "b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",
    "6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",
    "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",
    "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",
    "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",
    "94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",
    "a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",
    "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",
    "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",
    "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",
    "f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",
    "51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",
    "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",
    "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
    "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",
]
PAPER_KEY = (0x0706050403020100, 0x0F0E0D0C0B0A0908)
ABCDE = [["A"], ["B"], ["C"], ["D"], ["E"]]
WIRE = [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]]


def random_bytes(seed: int, lengths: range, per_length: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            for n in lengths for _ in range(per_length)]


def random_text(seed: int, lengths: range, per_length: int) -> list[str]:
    """Strings mixing 1-, 2-, 3- and 4-byte UTF-8 characters."""
    rng = np.random.default_rng(seed)
    pools = [(0x20, 0x7F), (0x80, 0x800), (0x800, 0xD800), (0xE000, 0x10000),
             (0x10000, 0x110000)]
    out = []
    for n in lengths:
        for _ in range(per_length):
            ranges = rng.integers(0, len(pools), n)
            out.append("".join(chr(int(rng.integers(*pools[r]))) for r in ranges))
    return out


def siphash_reference(key: tuple[int, int], message: bytes) -> int:
    """SipHash-2-4 written from the paper, one byte string at a time."""
    mask = (1 << 64) - 1
    rotl = lambda x, b: ((x << b) | (x >> (64 - b))) & mask
    k0, k1 = key[0] & mask, key[1] & mask
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rounds(count: int) -> None:
        for _ in range(count):
            v[0] = (v[0] + v[1]) & mask
            v[1] = rotl(v[1], 13) ^ v[0]
            v[0] = rotl(v[0], 32)
            v[2] = (v[2] + v[3]) & mask
            v[3] = rotl(v[3], 16) ^ v[2]
            v[0] = (v[0] + v[3]) & mask
            v[3] = rotl(v[3], 21) ^ v[0]
            v[2] = (v[2] + v[1]) & mask
            v[1] = rotl(v[1], 17) ^ v[2]
            v[2] = rotl(v[2], 32)

    end = len(message) - len(message) % 8
    words = [int.from_bytes(message[i:i + 8], "little") for i in range(0, end, 8)]
    words.append(int.from_bytes(message[end:], "little") | (len(message) & 0xFF) << 56)
    for word in words:
        v[3] ^= word
        rounds(2)
        v[0] ^= word
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


# ---------------------------------------------------------------------- hash functions
@needs_farmhash
def test_fingerprint64_matches_farmhash_on_random_bytes() -> None:
    values = random_bytes(0, range(0, 201), 20)  # every branch, 4020 strings
    values += random_bytes(1, range(201, 1100, 37), 3) + random_bytes(2, range(4090, 4100), 2)
    got = fingerprint64(np.array(values, dtype=object))
    expected = np.array([farmhash.fingerprint64(v) for v in values], dtype=np.uint64)
    assert got.dtype == np.uint64 and len(got) == 4020 + 75 + 20
    assert np.array_equal(got, expected)


@needs_farmhash
def test_fingerprint64_matches_farmhash_on_unicode_text() -> None:
    values = random_text(3, range(0, 201), 5)  # up to 800 UTF-8 bytes each
    got = fingerprint64(np.array(values))  # a numpy unicode array
    expected = np.array([farmhash.fingerprint64(v.encode()) for v in values], dtype=np.uint64)
    assert np.array_equal(got, expected)
    assert fingerprint64("é").item() == farmhash.fingerprint64("é".encode())


def test_fingerprint64_known_values_and_shapes() -> None:
    # Fingerprint64 is fixed forever: values from FarmHash's C library.
    assert fingerprint64([["A"], ["B"]]).tolist() == [[16915294056622060564],
                                                      [8703560047562643528]]
    assert fingerprint64("").item() == 0x9AE16A3B2F90404F  # k2, the empty string's
    assert fingerprint64(np.array([], dtype=str)).shape == (0,)
    # bytes hash as they are; str as UTF-8
    assert fingerprint64(b"\xc3\xa9").item() == fingerprint64("é").item()


def test_siphash_reference_vectors() -> None:
    messages = [bytes(range(n)) for n in range(64)]  # trailing NULs kept: object array
    got = siphash24(messages, PAPER_KEY)
    assert [int(h).to_bytes(8, "little").hex() for h in got] == SIPHASH_VECTORS
    assert hex(int(siphash24(bytes(range(15)), PAPER_KEY))) == "0xa129ca6149be45e5"


def test_siphash_matches_python_reference() -> None:
    values = random_bytes(4, range(0, 201), 5)
    rng = np.random.default_rng(5)
    for key in [(0, 0), (133, 137), (2**64 - 1, 2**63), (-1, -2),
                tuple(int(k) for k in rng.integers(0, 2**63, 2))]:
        got = siphash24(np.array(values, dtype=object), key)
        expected = [siphash_reference(key, v) for v in values]
        assert got.tolist() == expected


def test_pack_bytes_and_errors() -> None:
    packed = pack(np.array([b"ab", b"", b"xyz"]))
    assert packed.lengths.tolist() == [2, 0, 3] and packed.starts.tolist() == [0, 2, 2]
    assert pack(["a\x00", b"\x00"]).lengths.tolist() == [2, 1]  # lists keep trailing NULs
    assert pack("\ud800").lengths.tolist() == [3]  # a lone surrogate: 3 bytes
    with pytest.raises(ArgumentTypeError, match="expected strings"):
        pack(np.array([1, 2]))
    with pytest.raises(ArgumentTypeError, match="expected strings"):
        pack(["a", 1])


# ---------------------------------------------------------------------- Hashing: TF's bins
def test_hashing_docstring_examples() -> None:
    # keras.layers.Hashing's docstring: TensorFlow's outputs.
    assert layers.Hashing(num_bins=3)(ABCDE).tolist() == [[1], [0], [1], [1], [2]]
    masked = layers.Hashing(num_bins=3, mask_value="")
    assert masked([["A"], ["B"], [""], ["C"], ["D"]]).tolist() == [[1], [1], [0], [2], [2]]
    assert layers.Hashing(num_bins=3, salt=[133, 137])(ABCDE).tolist() == \
        [[1], [2], [1], [0], [2]]
    assert layers.Hashing(num_bins=3, salt=133)(ABCDE).tolist() == [[0], [0], [2], [1], [0]]


def test_hashing_keras_test_values() -> None:
    # keras/src/layers/preprocessing/hashing_test.py (run by Keras on TensorFlow).
    assert layers.Hashing(num_bins=3)([0, 1, 2, 3, 4]).tolist() == [1, 0, 1, 0, 2]
    assert layers.Hashing(num_bins=3)((0, 1, 2, 3, 4)).tolist() == [1, 0, 1, 0, 2]
    assert layers.Hashing(num_bins=1)(np.asarray(ABCDE)).tolist() == [[0]] * 5
    assert layers.Hashing(num_bins=2)(np.asarray(WIRE)).tolist() == [[0], [0], [1], [0], [0]]
    assert layers.Hashing(num_bins=2)([w[0] for w in WIRE]).tolist() == [0, 0, 1, 0, 0]
    assert layers.Hashing(num_bins=3, mask_value="")(np.asarray(WIRE)).tolist() == \
        [[1], [1], [2], [1], [1]]
    assert layers.Hashing(num_bins=3, mask_value="omar")(np.asarray(WIRE)).tolist() == \
        [[0], [1], [2], [1], [1]]
    assert layers.Hashing(num_bins=3)(np.asarray([[0], [1], [2], [3], [4]])).tolist() == \
        [[1], [0], [1], [0], [2]]
    assert layers.Hashing(num_bins=2, salt=[133, 137])(np.asarray(WIRE)).tolist() == \
        [[0], [1], [0], [1], [0]]
    assert layers.Hashing(num_bins=2, salt=[211, 137])(np.asarray(WIRE)).tolist() == \
        [[1], [0], [1], [0], [1]]
    assert layers.Hashing(num_bins=3, salt=[133, 137])(
        np.asarray([[0], [1], [2], [3], [4]])).tolist() == [[1], [1], [2], [0], [1]]
    for data, expected in [([1, 2, 3], [1, 1, 1]), ([[1], [2], [3]], [[1], [1], [1]]),
                           ([[1, 2], [2, 3], [3, 4]], [[1, 1], [1, 1], [1, 1]]),
                           ([[[1], [2]], [[2], [3]], [[3], [4]]],
                            [[[1], [1]], [[1], [1]], [[1], [1]]])]:
        assert layers.Hashing(num_bins=2)(data).tolist() == expected


@needs_farmhash
def test_hashing_hand_computed_bins() -> None:
    words = ["", "a", "héllo wörld", "x" * 70, "日本語"]
    bins = [farmhash.fingerprint64(w.encode()) % 7 for w in words]
    assert layers.Hashing(num_bins=7)(words).tolist() == bins
    masked = layers.Hashing(num_bins=8, mask_value="a")(words).tolist()
    assert masked == [0 if w == "a" else b % 7 + 1 for w, b in
                      zip(words, [farmhash.fingerprint64(w.encode()) for w in words])]
    numbers = np.array([-5, 0, 7, 2**40])
    assert layers.Hashing(num_bins=5)(numbers).tolist() == [
        farmhash.fingerprint64(str(n)) % 5 for n in numbers.tolist()]
    # floats are cast to int64 first (truncated), bools are "true"/"false" (tf.as_string)
    assert layers.Hashing(num_bins=5)(torch.tensor([-5.7, 7.9])).tolist() == [
        farmhash.fingerprint64("-5") % 5, farmhash.fingerprint64("7") % 5]
    assert layers.Hashing(num_bins=5)(np.array([True, False])).tolist() == [
        farmhash.fingerprint64("true") % 5, farmhash.fingerprint64("false") % 5]


def test_hashing_masks_numbers_and_bytes() -> None:
    layer = layers.Hashing(num_bins=4, mask_value=0)
    out = layer(torch.tensor([[0, 1], [2, 0]]))
    assert out.dtype == torch.int64 and out[0, 0] == 0 and out[1, 1] == 0
    assert bool(((out[0, 1] >= 1) & (out[1, 0] >= 1)).item())
    assert layers.Hashing(num_bins=3, mask_value=b"")([b"", b"A"]).tolist() == [0, 1]
    with pytest.raises(ArgumentTypeError, match="both be text or both numbers"):
        layers.Hashing(num_bins=3, mask_value="")(torch.tensor([1, 2]))
    with pytest.raises(ArgumentTypeError, match="both be text or both numbers"):
        layers.Hashing(num_bins=3, mask_value=0)(["a"])


def test_hashing_output_modes_and_dtypes() -> None:
    ints = np.array([0, 1, 2, 3, 4])  # bins 1, 0, 1, 0, 2
    one_hot = layers.Hashing(num_bins=3, output_mode="one_hot")
    assert one_hot(ints).tolist() == [[0, 1, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert one_hot(ints.reshape(5, 1)).shape == (5, 3)
    assert layers.Hashing(num_bins=3, output_mode="multi_hot")(ints[None]).tolist() == \
        [[1.0, 1.0, 1.0]]
    count = layers.Hashing(num_bins=3, output_mode="count")
    assert count(ints).tolist() == [2.0, 2.0, 1.0]
    assert count(ints[None]).tolist() == [[2.0, 2.0, 1.0]]
    assert count(ints).dtype == torch.float32
    assert layers.Hashing(num_bins=3, dtype="int32")(ints).dtype == torch.int32
    assert layers.Hashing(num_bins=3, output_mode="one_hot", dtype="float64")(
        ints).dtype == torch.float64
    for mode in ("int", "one_hot", "multi_hot", "count"):
        layer = layers.Hashing(num_bins=5, output_mode=mode)
        for shape in ((4,), (4, 1), (3, 4)):
            symbolic = layer(layers.Input(shape=shape, dtype="int64"))
            assert tuple(layer.compute_output_shape((None, *shape))) == symbolic.shape
            layer = layers.Hashing(num_bins=5, output_mode=mode)


def test_hashing_argument_errors() -> None:
    for bad in (None, 0, -1, 2.0):
        with pytest.raises(ArgumentError, match="num_bins"):
            layers.Hashing(num_bins=bad)
    for salt in ("string", [1], [133, 137, 177], 1.5):
        with pytest.raises(ArgumentError, match="salt"):
            layers.Hashing(num_bins=2, salt=salt)
    with pytest.raises(ArgumentError, match="output_mode"):
        layers.Hashing(num_bins=3, output_mode="unsupported_mode")
    with pytest.raises(ArgumentError, match="'int32' or 'int64'"):
        layers.Hashing(num_bins=3, output_mode="int", dtype="float32")
    with pytest.raises(ArgumentError, match="sparse"):
        layers.Hashing(num_bins=3, output_mode="one_hot", sparse=True)


def test_hashing_config_round_trip() -> None:
    layer = layers.Hashing(num_bins=5, mask_value="", salt=7, output_mode="count",
                           name="hashing")
    config = layer.get_config()
    assert set(config) == {"name", "trainable", "dtype", "num_bins", "salt", "mask_value",
                           "output_mode", "sparse"}  # Keras's keys
    assert config["salt"] == [7, 7]
    clone = layers.Hashing.from_config(config)
    assert clone.get_config() == config and clone.name == "hashing"
    data = [["a", "", "b"], ["c", "d", ""]]
    assert torch.equal(clone(data), layer(data))


def test_hashing_string_model_fits_saves_and_loads(tmp_path) -> None:
    inputs = layers.Input(shape=(1,), dtype="string")
    hashed = layers.Hashing(num_bins=16, output_mode="one_hot", salt=[3, 4])(inputs)
    model = lamina.Model(inputs, layers.Dense(1)(hashed))
    assert hashed.shape == (None, 16)
    x = np.array([["apple"], ["pear"], ["fig"], ["kiwi"]] * 8)
    y = np.array([[1.0], [0.0], [1.0], [0.0]] * 8, dtype="float32")
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 3
    before = model.predict(x, verbose=0)
    path = tmp_path / "hashing.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    assert np.allclose(loaded.predict(x, verbose=0), before)
    # The same strings give the same input bins after loading.
    layer = next(lay for lay in loaded.layers if isinstance(lay, layers.Hashing))
    assert layer.salt == [3, 4]
    assert torch.equal(layer.strings_to_tensor(x[:4]),
                       layers.Hashing(num_bins=16, salt=[3, 4])(x[:4]))


def test_hashing_int_model_and_sequential_of_strings() -> None:
    inputs = layers.Input(shape=(None,), dtype="int64")
    model = lamina.Model(inputs, layers.Hashing(num_bins=3, output_mode="multi_hot")(inputs))
    assert model(np.array([[0, 1, 2, 3, 4]])).tolist() == [[1.0, 1.0, 1.0]]
    stack = lamina.Sequential([layers.Hashing(num_bins=4, output_mode="count"),
                               layers.Dense(2)])
    assert stack(np.array([["a", "b"], ["c", "d"]])).shape == (2, 2)
    layer = layers.Hashing(num_bins=3)
    layer(layers.Input(shape=(1,), dtype="string"))
    with pytest.raises(ArgumentTypeError, match="strings or numbers, not both"):
        layer(layers.Input(shape=(1,), dtype="int64"))


# ---------------------------------------------------------------------- lookups
def test_integer_lookup_oov_methods() -> None:
    # keras/src/layers/preprocessing/integer_lookup.py's docstring (TensorFlow's outputs).
    layer = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], num_oov_indices=2)
    assert layer(np.array([[12, 1138, 42], [37, 1000, 36]])).tolist() == [[2, 4, 5],
                                                                         [1, 0, 3]]
    oov = np.array([100, 300, 700, 1100, 1700, 2000])
    floormod = layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4,
                                    oov_method="floormod")
    hashed = layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4,
                                  oov_method="farmhash")
    assert floormod(oov).tolist() == [0, 0, 0, 0, 0, 0]
    assert hashed(oov).tolist() == [3, 3, 2, 2, 0, 1]
    assert hashed(np.array([10, 30])).tolist() == [4, 6]
    salted = layers.IntegerLookup(vocabulary=[10], num_oov_indices=3, oov_method="farmhash",
                                  salt=[133, 137], mask_token=0)
    assert salted(np.array([0, 10, 0, 1, 2, 3, 4])).tolist() == [
        0, 4, 0, *(hash_buckets(np.array([1, 2, 3, 4]), 3, [133, 137]) + 1).tolist()]
    assert salted.get_config()["salt"] == [133, 137]
    clone = layers.IntegerLookup.from_config(salted.get_config())
    assert torch.equal(clone(np.array([5, 6, 7])), salted(np.array([5, 6, 7])))
    with pytest.raises(ArgumentError, match="salt is only used with oov_method='farmhash'"):
        layers.IntegerLookup(vocabulary=[1], num_oov_indices=2, salt=1)


@needs_farmhash
def test_string_lookup_hashes_oov_strings() -> None:
    layer = layers.StringLookup(vocabulary=["a", "b"], num_oov_indices=3)
    words = ["a", "zebra", "b", "ünïcode", "", "x" * 100]
    expected = [3 if w == "a" else 4 if w == "b" else farmhash.fingerprint64(w.encode()) % 3
                for w in words]
    assert layer(words).tolist() == expected
    assert layer(["a", "A", "B", "E"]).tolist() == [3, 1, 0, 2]  # Fingerprint64 % 3
    masked = layers.StringLookup(vocabulary=["a"], num_oov_indices=2, mask_token="")
    assert masked(["", "a", "zebra"]).tolist() == [
        0, 3, 1 + farmhash.fingerprint64(b"zebra") % 2]
    salted = layers.StringLookup(vocabulary=["a"], num_oov_indices=4, salt=9)
    assert salted.salt == [9, 9]
    assert salted(words[1:2]).tolist() == [siphash_reference((9, 9), b"zebra") % 4]
    multi = layers.StringLookup(vocabulary=["a"], num_oov_indices=2, output_mode="count")
    counts = np.bincount([farmhash.fingerprint64(w) % 2 for w in "ABE"], minlength=3)
    counts[2] = 1  # "a"
    assert multi([["a", "A", "B", "E"]]).tolist() == [counts.astype(float).tolist()]


def test_string_lookup_several_oov_in_a_model(tmp_path) -> None:
    inputs = layers.Input(shape=(2,), dtype="string")
    lookup = layers.StringLookup(vocabulary=["cat", "dog"], num_oov_indices=3, salt=[1, 2])
    model = lamina.Model(inputs, lookup(inputs))
    data = np.array([["cat", "emu"], ["yak", "dog"]])
    out = model(data)
    assert out[0, 0] == 3 and out[1, 1] == 4
    assert out[0, 1].item() == hash_buckets(["emu"], 3, [1, 2])[0]
    path = tmp_path / "lookup.lamina"
    model.save(path)
    assert torch.equal(lamina.load_model(path)(data), out)
