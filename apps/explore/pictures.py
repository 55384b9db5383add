"""Pictures and sound for the page, as data: URLs inside the JSON answer.

The apps' plotting functions write files (`save_figure`); here each draws into a temporary folder
of its own, which is read back and removed at once, so nothing is left on disk and no request
names a file. A data: URL keeps the answer one JSON object: no second request, no server-side
store of pictures to expire.
"""

import base64
import io
import os
import tempfile


def data_url(data, mime):
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def drawn(draw, name="picture.png", mime="image/png"):
    """`draw(path)` writes a file at `path` in a fresh temporary folder; its data: URL."""
    with tempfile.TemporaryDirectory(prefix="explore-") as folder:
        path = os.path.join(folder, name)
        draw(path)
        with open(path, "rb") as f:
            return data_url(f.read(), mime)


def png_of(pixels):
    """(H, W, 3) uint8 -> a PNG data: URL (made in memory)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return data_url(buffer.getvalue(), "image/png")
