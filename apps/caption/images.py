"""Reading the images people bring: any file Pillow opens becomes the model's square RGB input, or one clear error.

What a photo can be, and what is done with it:
  orientation     the EXIF orientation is applied (a phone's portrait photo stands upright);
  colour modes    grey, palette, 16-bit and CMYK become RGB; transparency is composed over white
                  (a cut-out stamp on a white page, not on black);
  size            a 1 x 1 image is scaled up like any other; a huge one is read at a reduced
                  scale: JPEG decodes directly at 1/2 .. 1/8 (`Image.draft`), other formats are
                  reduced by an integer factor (`Image.reduce`) before the final resize, and
                  anything over `MAX_PIXELS` pixels after that is refused, so memory stays bounded;
  damage          a text file named .jpg, a truncated JPEG, a missing file: `ImageError`, whose
                  message is one line naming the file.

The model's input is the image resized to S x S (aspect ratio not kept, as the CNN saw its
training images), re-encoded as PNG for the SavedModel's `image_bytes` input: the graph decodes a
small, clean PNG whatever the user's file was.
"""

import io
import os
import warnings
from typing import NamedTuple

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
MAX_PIXELS = 160_000_000  # decoded at once (after JPEG draft): 12,000 x 12,000 passes, bigger is refused
DISPLAY_SIDE = 320  # longest side of the picture kept for attention plots


class ImageError(Exception):
    """An image that cannot be captioned; the message is one line naming the file."""


class LoadedImage(NamedTuple):
    model_input: np.ndarray  # (S, S, 3) uint8
    display: np.ndarray | None  # (h, w, 3) uint8, aspect ratio kept, longest side <= DISPLAY_SIDE; or None


def image_files(path):
    """The image files one command-line input names: a file as it is, a folder's images (sorted).

    Raises `ImageError` for a missing path or a folder without images.
    """
    if os.path.isdir(path):
        names = sorted(name for name in os.listdir(path) if name.lower().endswith(IMAGE_EXTENSIONS))
        files = [os.path.join(path, name) for name in names if os.path.isfile(os.path.join(path, name))]
        if not files:
            raise ImageError(f"{path}: a folder with no images ({', '.join(IMAGE_EXTENSIONS)})")
        return files
    if not os.path.lexists(path):
        raise ImageError(f"{path}: no such file")
    return [path]


def read_image(source, size, keep_display=False):
    """An image file (or an (H, W, 3) uint8 array) -> `LoadedImage`, or `ImageError`.

    Args:
        source: str path, bytes of an encoded image, or an (H, W, 3) uint8 array.
        size: int, S, the side of the model's square input.
        keep_display: bool, also keep a picture of the image for attention plots.
    """
    from PIL import Image, ImageOps

    if isinstance(source, np.ndarray):
        image = Image.fromarray(_as_uint8_rgb(source))
    else:
        target = max(size, DISPLAY_SIDE if keep_display else 0)
        image = _open(source, target)
        try:
            image = ImageOps.exif_transpose(image)  # returns a copy for oriented images
        except Exception:  # noqa: BLE001 - a damaged EXIF block is no reason to refuse the photo
            pass
        image = _reduced(image, 2 * target)
        image = _to_rgb(image)
    model_input = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0), np.uint8)
    display = None
    if keep_display:
        scale = min(1.0, DISPLAY_SIDE / max(image.size))
        shown = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BILINEAR)
        display = np.asarray(shown, np.uint8)
    return LoadedImage(model_input, display)


def png_bytes(array):
    """(H, W, 3) uint8 -> PNG bytes (fast compression: the bytes are decoded at once)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _name(source):
    return source if isinstance(source, str) else "image"


def _open(source, target):
    """Opens and decodes `source`, a JPEG at a reduced scale that keeps both sides >= `target` when it is
    large; `ImageError` for anything wrong."""
    from PIL import Image, UnidentifiedImageError

    name = _name(source)
    if isinstance(source, str) and os.path.isdir(source):
        raise ImageError(f"{name}: a folder, not an image")
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89 million pixels; the limit here is MAX_PIXELS, checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source if isinstance(source, str) else io.BytesIO(source))
            if image.format == "JPEG":
                image.draft("RGB", (target, target))  # DCT scaling: decodes at 1/2, 1/4 or 1/8 when large
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{name}: {width} x {height} pixels is too large to read (at most "
                                 f"{MAX_PIXELS // 1_000_000} million, or a JPEG of any size)")
            image.load()
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except PermissionError:
        raise ImageError(f"{name}: permission denied") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: too many pixels to read (at most {MAX_PIXELS // 1_000_000} million)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImageError(f"{name}: truncated or damaged image ({detail})") from None
    if width == 0 or height == 0:
        raise ImageError(f"{name}: an image without pixels ({width} x {height})")
    return image


def _reduced(image, target):
    """`image` shrunk by an integer factor while both sides stay >= `target` (cheap: box averaging)."""
    from PIL import Image

    factor = min(image.width, image.height) // max(target, 1)
    if factor < 2:
        return image
    if image.mode in ("P", "PA", "1"):  # `reduce` does not take palettes: nearest keeps the colours
        return image.resize((image.width // factor, image.height // factor), Image.Resampling.NEAREST)
    try:
        return image.reduce(factor)
    except ValueError:  # a mode `reduce` does not support
        return image.resize((image.width // factor, image.height // factor), Image.Resampling.NEAREST)


def _to_rgb(image):
    """Any Pillow mode -> RGB; transparency is composed over white."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float grey: scale to 8 bits
        values = np.asarray(image, dtype=np.float64)
        top = values.max() or 1.0
        image = Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")  # grey, palette, CMYK (Pillow undoes Adobe's inverted CMYK), YCbCr


def _as_uint8_rgb(array):
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got shape {array.shape} and dtype {array.dtype}")
    return array
