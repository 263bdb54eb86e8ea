"""lamina.ops.image against keras.ops.image (Keras 3 on torch) on the same random inputs:
values, shapes and dtypes of every function over its main arguments, gradients, symbolic
tensors inside a Model, and the errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers, ops  # noqa: E402
from lamina.errors import ArgumentError, ArgumentTypeError, LaminaError, ShapeError  # noqa: E402
from lamina.models import Model  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="compares with torch Keras"),
]

KI = keras.ops.image
CL, CF = "channels_last", "channels_first"


def images(*shape: int, seed: int = 0, dtype: str = "float32") -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "uint8":
        return rng.integers(0, 256, shape).astype("uint8")
    return rng.uniform(0.0, 1.0, shape).astype(dtype)


def theirs(value) -> np.ndarray:
    return keras.ops.convert_to_numpy(value)


def same(ours: torch.Tensor, reference, atol: float = 1e-5) -> None:
    """Shapes, dtypes and values of lamina's result and Keras's."""
    expected = theirs(reference)
    assert isinstance(ours, torch.Tensor)
    assert tuple(ours.shape) == expected.shape
    assert str(ours.dtype).removeprefix("torch.") == str(expected.dtype)
    got = ours.detach().float().numpy() if ours.dtype == torch.bfloat16 else ours.numpy()
    if expected.dtype.kind in "iub":
        np.testing.assert_array_equal(got, expected)
    else:
        torch.testing.assert_close(torch.from_numpy(got).double(),
                                   torch.from_numpy(expected.astype("float64")),
                                   atol=atol, rtol=1e-5)


def layout(shape: tuple[int, ...], data_format: str, rank: int = 2) -> tuple[int, ...]:
    """A channels_last shape with ``rank`` spatial axes, in ``data_format``."""
    if data_format == CL:
        return shape
    return (*shape[:-rank - 1], shape[-1], *shape[-rank - 1:-1])


# ------------------------------------------------------------------------------- resize
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("size", [(5, 7), (16, 12)])
@pytest.mark.parametrize("data_format", [CL, CF])
def test_resize_values(interpolation: str, antialias: bool, size, data_format: str) -> None:
    for shape in [(2, 9, 11, 3), (9, 11, 3)]:
        x = images(*layout(shape, data_format), seed=len(shape))
        kwargs = dict(interpolation=interpolation, antialias=antialias,
                      data_format=data_format)
        same(ops.image.resize(x, size, **kwargs), KI.resize(x, size, **kwargs))


@pytest.mark.parametrize("aspect", ["crop_to_aspect_ratio", "pad_to_aspect_ratio"])
@pytest.mark.parametrize("size", [(4, 8), (8, 4), (6, 6), (3, 10)])
@pytest.mark.parametrize("data_format", [CL, CF])
def test_resize_to_aspect_ratio(aspect: str, size, data_format: str) -> None:
    x = images(*layout((2, 9, 13, 3), data_format))
    kwargs = {aspect: True, "data_format": data_format, "interpolation": "bilinear"}
    if aspect == "pad_to_aspect_ratio":
        kwargs["fill_value"] = 0.5
    same(ops.image.resize(x, size, **kwargs), KI.resize(x, size, **kwargs))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("dtype", ["uint8", "int32", "float16", "float64"])
def test_resize_dtypes(interpolation: str, dtype: str) -> None:
    x = images(2, 6, 7, 3, dtype=dtype) if dtype == "uint8" else (
        images(2, 6, 7, 3) * 200).astype(dtype)
    x_torch = torch.from_numpy(x)  # a tensor, so float64 stays float64 in both libraries
    for size in [(3, 4), (11, 13)]:
        ours = ops.image.resize(x_torch, size, interpolation=interpolation)
        atol = 0.1 if dtype == "float16" else 1e-5
        same(ours, KI.resize(x_torch, size, interpolation=interpolation), atol=atol)


def test_resize_uint8_with_padding_and_numpy_inputs() -> None:
    x = images(7, 12, 3, dtype="uint8")
    same(ops.image.resize(x, (6, 6), pad_to_aspect_ratio=True, fill_value=255),
         KI.resize(x, (6, 6), pad_to_aspect_ratio=True, fill_value=255))
    same(ops.image.resize(x, (6, 6), crop_to_aspect_ratio=True, interpolation="bicubic"),
         KI.resize(x, (6, 6), crop_to_aspect_ratio=True, interpolation="bicubic"))


def test_resize_area_averages_regions() -> None:
    x = images(2, 8, 12, 3)
    ours = ops.image.resize(x, (4, 3), interpolation="area")
    expected = x.reshape(2, 4, 2, 3, 4, 3).mean(axis=(2, 4))
    torch.testing.assert_close(ours, torch.from_numpy(expected))
    uint8 = ops.image.resize(images(8, 8, 1, dtype="uint8"), (2, 2), interpolation="area")
    assert uint8.dtype == torch.uint8


def test_resize_default_data_format_follows_config() -> None:
    x = images(2, 3, 8, 8)
    lamina.config.set_image_data_format(CF)
    try:
        assert ops.image.resize(x, (4, 4)).shape == (2, 3, 4, 4)
    finally:
        lamina.config.set_image_data_format(CL)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [False, True])
def test_resize_gradients(interpolation: str, antialias: bool) -> None:
    x = images(2, 9, 11, 3)
    weights = torch.from_numpy(images(2, 5, 4, 3, seed=1))
    grads = []
    for fn in (ops.image.resize, KI.resize):
        tensor = torch.tensor(x, requires_grad=True)
        out = fn(tensor, (5, 4), interpolation=interpolation, antialias=antialias)
        (out * weights).sum().backward()
        grads.append(tensor.grad)
    torch.testing.assert_close(grads[0], grads[1])


# ---------------------------------------------------------------------- extract_patches
PATCH_CASES = [
    dict(size=3),
    dict(size=(2, 3)),
    dict(size=(3, 3), strides=(1, 1)),
    dict(size=(3, 2), strides=(2, 1), padding="same"),
    dict(size=2, strides=3, padding="same"),
    dict(size=(2, 2), strides=1, dilation_rate=2),
    dict(size=(3, 2), strides=1, dilation_rate=(1, 2), padding="same"),
    dict(size=(4, 4), strides=(2, 2), padding="valid"),
]


@pytest.mark.parametrize("case", PATCH_CASES, ids=str)
@pytest.mark.parametrize("data_format", [CL, CF])
def test_extract_patches_values(case: dict, data_format: str) -> None:
    for shape in [(2, 10, 11, 3), (10, 11, 3)]:
        x = images(*layout(shape, data_format))
        ours = ops.image.extract_patches(x, data_format=data_format, **case)
        same(ours, KI.extract_patches(x, data_format=data_format, **case), atol=0)


@pytest.mark.parametrize("case", [dict(size=(2, 2, 2)), dict(size=(3, 2, 2), strides=1),
                                  dict(size=(2, 3, 2), strides=2, padding="same")], ids=str)
@pytest.mark.parametrize("data_format", [CL, CF])
def test_extract_volume_patches(case: dict, data_format: str) -> None:
    for shape in [(2, 6, 7, 5, 2), (6, 7, 5, 2)]:
        x = images(*layout(shape, data_format, 3))
        same(ops.image.extract_patches(x, data_format=data_format, **case),
             KI.extract_patches(x, data_format=data_format, **case), atol=0)
        same(ops.image.extract_patches_3d(x, data_format=data_format, **case),
             KI.extract_patches_3d(x, data_format=data_format, **case), atol=0)
    x = images(6, 6, 6, 1)
    same(ops.image.extract_patches_3d(x, 3), KI.extract_patches_3d(x, 3), atol=0)


def test_extract_patches_keeps_integer_dtypes() -> None:
    x = (images(2, 8, 8, 3) * 100).astype("int32")
    same(ops.image.extract_patches(x, 4), KI.extract_patches(x, 4))
    x = images(8, 8, 3, dtype="uint8")
    assert ops.image.extract_patches(x, 2).dtype == torch.uint8


@pytest.mark.parametrize("case", PATCH_CASES[2:6], ids=str)
def test_extract_patches_gradients(case: dict) -> None:
    x = images(2, 10, 11, 3)
    grads = []
    for fn in (ops.image.extract_patches, KI.extract_patches):
        tensor = torch.tensor(x, requires_grad=True)
        out = fn(tensor, **case)
        (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
        grads.append(tensor.grad)
    torch.testing.assert_close(grads[0], grads[1])


# ------------------------------------------------------------------- pad and crop images
PAD_CASES = [
    dict(top_padding=2, left_padding=3, target_height=20, target_width=30),
    dict(top_padding=0, bottom_padding=4, left_padding=1, right_padding=0),
    dict(bottom_padding=1, target_height=16, right_padding=2, target_width=27),
]
CROP_CASES = [
    dict(top_cropping=2, left_cropping=3, target_height=10, target_width=12),
    dict(top_cropping=0, bottom_cropping=4, left_cropping=1, right_cropping=5),
    dict(bottom_cropping=1, target_height=14, right_cropping=2, target_width=20),
]


@pytest.mark.parametrize("case", PAD_CASES, ids=str)
@pytest.mark.parametrize("data_format", [CL, CF])
def test_pad_images(case: dict, data_format: str) -> None:
    for shape in [(2, 15, 25, 3), (15, 25, 3)]:
        x = images(*layout(shape, data_format))
        same(ops.image.pad_images(x, data_format=data_format, **case),
             KI.pad_images(x, data_format=data_format, **case), atol=0)


@pytest.mark.parametrize("case", CROP_CASES, ids=str)
@pytest.mark.parametrize("data_format", [CL, CF])
def test_crop_images(case: dict, data_format: str) -> None:
    for shape in [(2, 15, 25, 3), (15, 25, 3)]:
        x = images(*layout(shape, data_format))
        same(ops.image.crop_images(x, data_format=data_format, **case),
             KI.crop_images(x, data_format=data_format, **case), atol=0)


# ------------------------------------------------------------------------ colour spaces
@pytest.mark.parametrize("data_format", [CL, CF])
def test_colour_conversions(data_format: str) -> None:
    for shape in [(2, 5, 6, 3), (5, 6, 3)]:
        x = images(*layout(shape, data_format))
        x[..., :1, :1] = 0.25  # grey pixels: hue 0, saturation 0
        for name in ("rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb"):
            same(getattr(ops.image, name)(x, data_format=data_format),
                 getattr(KI, name)(x, data_format=data_format))
    hsv = ops.image.rgb_to_hsv(x, data_format=data_format)
    torch.testing.assert_close(ops.image.hsv_to_rgb(hsv, data_format=data_format),
                               torch.from_numpy(x))


def test_grayscale_dtypes_and_one_channel() -> None:
    x = images(2, 4, 5, 3, dtype="uint8")
    same(ops.image.rgb_to_grayscale(x), KI.rgb_to_grayscale(x))
    one = images(4, 5, 1)
    same(ops.image.rgb_to_grayscale(one), KI.rgb_to_grayscale(one))
    half = torch.from_numpy(images(4, 5, 3)).half()
    same(ops.image.rgb_to_grayscale(half), KI.rgb_to_grayscale(half), atol=1e-3)


# ------------------------------------------------------------- map_coordinates, affine
FILL_MODES = ["constant", "nearest", "wrap", "mirror", "reflect"]


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_map_coordinates(order: int, fill_mode: str) -> None:
    rng = np.random.default_rng(3)
    for shape in [(7, 9), (4, 5, 3)]:
        x = images(*shape)
        coordinates = np.stack([rng.uniform(-6, n + 6, (3, 4)) for n in shape]).astype(
            "float32")
        for fill_value in (0, 0.5):
            same(ops.image.map_coordinates(x, coordinates, order, fill_mode, fill_value),
                 KI.map_coordinates(x, coordinates, order, fill_mode, fill_value))
    ints = (images(6, 6) * 100).astype("int32")
    coordinates = rng.uniform(-2, 8, (2, 10)).astype("float32")
    same(ops.image.map_coordinates(ints, coordinates, order, fill_mode, 7),
         KI.map_coordinates(ints, coordinates, order, fill_mode, 7))


TRANSFORMS = np.array([[1.5, 0, -3, 0, 1.5, -2, 0, 0],       # zoom
                       [1, 0, -2.5, 0, 1, 1.25, 0, 0],        # translation
                       [1.0, 0.5, -2, 0.5, 1.0, -1.5, 0, 0],  # shear
                       [0.8, -0.6, 4, 0.6, 0.8, -3, 0, 0]],   # rotation
                      dtype="float32")


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("data_format", [CL, CF])
def test_affine_transform(interpolation: str, fill_mode: str, data_format: str) -> None:
    kwargs = dict(interpolation=interpolation, fill_mode=fill_mode, fill_value=0.25,
                  data_format=data_format)
    x = images(*layout((4, 9, 11, 3), data_format))
    same(ops.image.affine_transform(x, TRANSFORMS, **kwargs),
         KI.affine_transform(x, TRANSFORMS, **kwargs))
    one = x[0]
    same(ops.image.affine_transform(one, TRANSFORMS[2], **kwargs),
         KI.affine_transform(one, TRANSFORMS[2], **kwargs))


def test_affine_transform_integer_images_and_gradients() -> None:
    x = images(4, 8, 8, 3, dtype="uint8")
    same(ops.image.affine_transform(x, TRANSFORMS), KI.affine_transform(x, TRANSFORMS))
    # one transform for a batch (Keras's torch backend fails to reshape it)
    torch.testing.assert_close(ops.image.affine_transform(x, TRANSFORMS[1]),
                               ops.image.affine_transform(x, TRANSFORMS[[1, 1, 1, 1]]))
    grads = []
    for fn in (ops.image.affine_transform, KI.affine_transform):
        tensor = torch.tensor(images(4, 8, 8, 3), requires_grad=True)
        fn(tensor, torch.from_numpy(TRANSFORMS)).square().sum().backward()
        grads.append(tensor.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_affine_transform_projective_terms_divide() -> None:
    x = torch.from_numpy(images(6, 7, 2))
    transform = torch.tensor([1.0, 0.2, 0.5, 0.1, 1.0, 0.3, 0.05, 0.02])
    ours = ops.image.affine_transform(x, transform, interpolation="nearest")
    ys, xs = torch.meshgrid(torch.arange(6.0), torch.arange(7.0), indexing="ij")
    k = 0.05 * xs + 0.02 * ys + 1
    source_x = ((xs + 0.2 * ys + 0.5) / k).round().long()
    source_y = ((0.1 * xs + ys + 0.3) / k).round().long()
    inside = (source_x < 7) & (source_y < 6)
    expected = torch.where(inside[..., None], x[source_y.clamp(max=5), source_x.clamp(max=6)],
                           0.0)
    torch.testing.assert_close(ours, expected)


# ---------------------------------------------------------------------- gaussian_blur
@pytest.mark.parametrize("kernel_size, sigma", [((3, 3), (1.0, 1.0)), ((5, 5), (0.7, 2.0)),
                                                ((7, 7), (3.0, 1.5))])
@pytest.mark.parametrize("data_format", [CL, CF])
def test_gaussian_blur(kernel_size, sigma, data_format: str) -> None:
    for shape in [(2, 9, 10, 3), (9, 10, 3)]:
        x = images(*layout(shape, data_format))
        kwargs = dict(kernel_size=kernel_size, sigma=sigma, data_format=data_format)
        same(ops.image.gaussian_blur(x, **kwargs), KI.gaussian_blur(x, **kwargs))


def test_gaussian_blur_default_layout_and_rectangular_kernels() -> None:
    x = torch.from_numpy(images(2, 9, 10, 3))
    same(ops.image.gaussian_blur(x), KI.gaussian_blur(x, data_format=CL))
    # Keras's JAX convention: kernel_size[1] and sigma[1] run along the height.
    blurred = ops.image.gaussian_blur(x, kernel_size=(1, 5), sigma=(1.0, 2.0))
    assert blurred.shape == x.shape
    column = torch.exp(-0.5 * (torch.arange(5.0) - 2) ** 2 / 4)
    kernel = (column / column.sum()).reshape(1, 1, 5, 1).repeat(3, 1, 1, 1)
    expected = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), kernel, padding=(2, 0),
                                          groups=3).permute(0, 2, 3, 1)
    torch.testing.assert_close(blurred, expected)


@pytest.mark.parametrize("data_format", [CL, CF])
def test_sobel_edges(data_format: str) -> None:
    x = images(*layout((2, 7, 9, 3), data_format))
    same(ops.image.sobel_edges(x, data_format=data_format),
         KI.sobel_edges(x, data_format=data_format))
    assert ops.image.sobel_edges(lamina.Input(x.shape[1:]), data_format).shape == (
        None, *x.shape[1:], 2)


# ------------------------------------------------------------------- symbolic tensors
def test_symbolic_resize_has_keras_shape() -> None:
    out = ops.image.resize(lamina.Input((32, 32, 3)), (16, 16))
    assert isinstance(out, lamina.symbolic.SymbolicTensor)
    assert out.shape == (None, 16, 16, 3)
    out = ops.image.resize(lamina.Input((None, None, 3), dtype="uint8"), (8, 6))
    assert out.shape == (None, 8, 6, 3) and out.dtype == torch.uint8


def test_image_ops_inside_a_model_match_keras() -> None:
    def build(lib, image_ops):
        inputs = lib.Input((12, 14, 3))
        x = image_ops.resize(inputs, (10, 10), interpolation="bicubic")
        x = image_ops.pad_images(x, 1, 1, target_height=12, target_width=12)
        x = image_ops.crop_images(x, 0, 0, target_height=11, target_width=11)
        x = image_ops.gaussian_blur(x, data_format=CL)
        x = image_ops.rgb_to_hsv(x)
        patches = image_ops.extract_patches(x, 3, padding="same")
        gray = image_ops.rgb_to_grayscale(image_ops.hsv_to_rgb(x))
        return lib.Model(inputs, [patches, gray])

    ours, reference = build(lamina, ops.image), build(keras, KI)
    assert [tuple(o.shape) for o in ours.outputs] == [(None, 4, 4, 27), (None, 11, 11, 1)]
    assert [tuple(o.shape) for o in reference.outputs] == [(None, 4, 4, 27), (None, 11, 11, 1)]
    x = images(2, 12, 14, 3)
    for got, expected in zip(ours.predict(x, verbose=0), reference.predict(x, verbose=0)):
        same(torch.as_tensor(got), expected)


def test_symbolic_shapes_of_every_function() -> None:
    x = lamina.Input((9, 10, 3))
    assert ops.image.extract_patches(x, (3, 2), strides=1).shape == (None, 7, 9, 18)
    volumes = lamina.Input((4, 6, 6, 2))
    assert ops.image.extract_patches(volumes, (2, 2, 2)).shape == (None, 2, 3, 3, 16)
    assert ops.image.pad_images(x, 1, 2, 3, 4).shape == (None, 13, 16, 3)
    assert ops.image.crop_images(x, 1, 2, 3, 4).shape == (None, 5, 4, 3)
    assert ops.image.rgb_to_grayscale(x).shape == (None, 9, 10, 1)
    assert ops.image.gaussian_blur(x).shape == (None, 9, 10, 3)
    assert ops.image.affine_transform(x, TRANSFORMS[0]).shape == (None, 9, 10, 3)
    coordinates = lamina.Input((2, 5), batch_size=2)
    grid = torch.from_numpy(images(6, 7))
    assert ops.image.map_coordinates(grid, coordinates[0], 1).shape == (5,)


def test_model_with_image_ops_trains() -> None:
    inputs = lamina.Input((8, 8, 3))
    x = ops.image.resize(inputs, (4, 4))
    x = ops.image.extract_patches(x, 2)
    outputs = layers.Dense(1)(layers.Flatten()(x))
    model = Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(images(8, 8, 8, 3), np.ones((8, 1), "float32"), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, message", [
    (lambda x: ops.image.resize(x, (4,)), ArgumentError, "size must be a tuple of 2"),
    (lambda x: ops.image.resize(x, (0, 4)), ArgumentError, "positive height"),
    (lambda x: ops.image.resize(x, (4, 4), interpolation="lanczos3"), ArgumentError,
     "Lanczos"),
    (lambda x: ops.image.resize(x, (4, 4), interpolation="cubic"), ArgumentError,
     "interpolation must be one of"),
    (lambda x: ops.image.resize(x, (4, 4), fill_mode="reflect"), ArgumentError,
     "fill_mode='constant'"),
    (lambda x: ops.image.resize(x, (4, 4), crop_to_aspect_ratio=True,
                                pad_to_aspect_ratio=True), ArgumentError, "not both"),
    (lambda x: ops.image.resize(x[0, 0], (4, 4)), ShapeError, "rank 3 or 4"),
    (lambda x: ops.image.resize(x, (4, 4), data_format="NHWC"), ArgumentError,
     "data_format must be"),
    (lambda x: ops.image.extract_patches(x, 2.5), ArgumentTypeError, "int or a tuple"),
    (lambda x: ops.image.extract_patches(x, (2, 2, 2, 2)), ArgumentError, "2 values"),
    (lambda x: ops.image.extract_patches(x, 9), ShapeError, "do not fit"),
    (lambda x: ops.image.extract_patches(x, 2, padding="full"), ArgumentError, "padding"),
    (lambda x: ops.image.extract_patches(x[0], (2, 2, 2)), ShapeError, "rank 4 or 5"),
    (lambda x: ops.image.pad_images(x, 1, 1), ArgumentError, "exactly two of top_padding"),
    (lambda x: ops.image.pad_images(x, -1, 0, 0, 0), ArgumentError, "top_padding must be"),
    (lambda x: ops.image.pad_images(x, 2, 0, target_height=4, target_width=8),
     ArgumentError, "bottom_padding"),
    (lambda x: ops.image.crop_images(x, 1, 1, target_height=8, target_width=2),
     ArgumentError, "bottom_cropping"),
    (lambda x: ops.image.rgb_to_grayscale(x[..., :2]), ShapeError, "3 \\(RGB\\) or 1"),
    (lambda x: ops.image.rgb_to_hsv((x * 255).to(torch.uint8)), ArgumentError,
     "expected float images"),
    (lambda x: ops.image.hsv_to_rgb(x[..., :2]), ShapeError, "expected 3 channels"),
    (lambda x: ops.image.affine_transform(x, TRANSFORMS, interpolation="bicubic"),
     ArgumentError, "'nearest' or 'bilinear'"),
    (lambda x: ops.image.affine_transform(x, TRANSFORMS, fill_mode="edge"), ArgumentError,
     "fill_mode must be one of"),
    (lambda x: ops.image.affine_transform(x, TRANSFORMS[:, :6]), ShapeError, "8 values"),
    (lambda x: ops.image.affine_transform(x, TRANSFORMS[:3]), ShapeError, "3 transforms"),
    (lambda x: ops.image.map_coordinates(x, [[0.0]], 1), ShapeError, "one entry per axis"),
    (lambda x: ops.image.gaussian_blur(x, kernel_size=(3, 3, 3)), ArgumentError,
     "kernel_size must be"),
    (lambda x: ops.image.sobel_edges(x[0]), ShapeError, "rank 4"),
])
def test_errors(call, error, message: str) -> None:
    x = torch.from_numpy(images(2, 8, 8, 3))
    with pytest.raises(error, match=message) as raised:
        call(x)
    assert isinstance(raised.value, LaminaError)


def test_errors_on_symbolic_tensors_are_value_errors() -> None:
    x = lamina.Input((8, 8, 3))
    with pytest.raises(ValueError, match="size must be a tuple of 2"):
        ops.image.resize(x, (4,))
    with pytest.raises(ValueError, match="3 \\(RGB\\) or 1"):
        ops.image.rgb_to_grayscale(lamina.Input((8, 8, 2)))


def test_error_classes_are_keras_builtins() -> None:
    x = images(2, 8, 8, 3)
    for call in (lambda lib: lib.resize(x, (4, 4), interpolation="cubic"),
                 lambda lib: lib.pad_images(x, 1, 1),
                 lambda lib: lib.rgb_to_hsv(x.astype("int32"))):
        for lib in (ops.image, KI):
            with pytest.raises(ValueError):
                call(lib)
    for lib in (ops.image, KI):
        with pytest.raises(TypeError):
            lib.extract_patches(x, 2.5)
        with pytest.raises(NotImplementedError):
            lib.map_coordinates(x[0, ..., 0], np.zeros((2, 3), "float32"), 3)


def test_image_is_a_namespace_not_top_level_ops() -> None:
    assert ops.image is lamina.ops.image
    assert "image" not in ops.__all__ and not hasattr(ops, "resize")
    with pytest.raises(AttributeError, match="keras.ops.image.ssim is not in lamina"):
        ops.image.ssim  # noqa: B018
    with pytest.raises(AttributeError, match="Did you mean 'resize'"):
        ops.image.resiz  # noqa: B018


def test_a_model_with_image_ops_saves_and_reloads_in_safe_mode(tmp_path) -> None:
    inputs = lamina.Input((8, 8, 3))
    small = ops.image.resize(inputs, (4, 4))
    patches = ops.image.extract_patches(small, 2)
    model = lamina.Model(inputs, lamina.layers.Dense(2)(lamina.layers.Flatten()(patches)))
    names = [layer.name for layer in model.layers]
    assert names[1].startswith("image_resize") and names[2].startswith("image_extract_patches")
    path = str(tmp_path / "image_ops.lamina")
    model.save(path)
    loaded = lamina.load_model(path)
    data = torch.rand(2, 8, 8, 3)
    torch.testing.assert_close(loaded(data), model(data))
