"""What the explorer's tests share: one set of models, loaded once per process, and a real server.

`shared_models()` is cached, so test_explore.py and test_explore_browser.py, run in one process,
load each shipped model once between them, as the explorer itself does.
"""

import contextlib
import functools
import io
import threading


@functools.cache
def shared_models():
    from apps.explore.models import Models

    return Models()


@contextlib.contextmanager
def running_server(app):
    """Serves `app` on 127.0.0.1 (a free port) from a thread; yields its base URL."""
    from apps.explore.server import make_server

    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, name="explore-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=30)
        server.server_close()


def scene_png(seed=0):
    """A held-out StampScene as PNG bytes, and its true caption."""
    from PIL import Image

    from datasets.captions import stamp_scenes

    scene = stamp_scenes("test", 1, seed=seed)[0]
    buffer = io.BytesIO()
    Image.fromarray(scene.image).save(buffer, format="PNG")
    return buffer.getvalue(), scene.caption
