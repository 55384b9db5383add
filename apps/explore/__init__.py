"""A local web page for every app, where what the models attend to can be seen.

  python -m apps.explore                      serve on 127.0.0.1, a free port (the URL is printed)
  python -m apps.explore --port 8000          a port of one's choosing
  python -m apps.explore --model-dir translate=runs/transformer    one's own model for an app
  python -m apps.explore --host 0.0.0.0       other machines too (a warning says so: no login)

One page, a tab per app: translate (the French, the beam's cross-attention as a heat map under
the sentence; for the Transformer every layer and head, and the encoder's self-attention), caption
(each word's attention laid over the photo), sentiment (each word shaded by its weight), generate
(characters streamed as they are made, coloured by surprisal; a score box), music (a piano roll,
and the sound where FluidSynth is installed), dynamics (the forecast against the truth and the
valid prediction time).

Design:
  - The same code as the command line, never a copy: the exported SavedModels' signatures
    (`generate_with_beam`, `serving_default`, ...) run through `apps.common.serving`, and the apps'
    own functions do the rest (`split_into_chunks`, `read_image`, `classification_record`,
    `CharacterStream`, `character_log_probabilities`, `compose_melody`, `forecast_of`, the apps'
    plots). What a SavedModel does not export (a Transformer's per-layer attention, a step at a
    time) comes from the Keras model, rebuilt from the same directory (`Runner.load_model`).
  - The server (`server.py`) is Flask on Werkzeug's threaded WSGI server: one thread per request.
    The server sends numbers, the page draws them (heat maps are HTML tables, one cell per weight);
    pictures made by the apps' plotting functions (piano roll, forecast) and sound travel as data:
    URLs inside the JSON answer. The page's script and style are served by the app itself (no CDN,
    no build step), so it works offline.
  - Models (`models.py`) load once per process, lazily: a model is read on its first request,
    under a lock of its app's, so an app's first request waits for its model, the other apps'
    requests do not. Once loaded a model is used without a lock: TensorFlow's functions may run
    in several threads at once, and release Python's interpreter lock while they compute, so
    concurrent requests share the cores instead of queueing behind one another. What is Python
    (matplotlib drawing a piano roll, a stream's step-by-step loop) holds that lock and
    interleaves with the rest: under load those answers slow down most (the load test's p95).
    Graph optimisation is off (`load_serving(optimize=False)`), so a first request starts at once.
  - Bad input is a JSON {"error": message} with a 4xx status, shown on the page (`inputs.py`):
    empty or over-long text, a file that is not an image, an upload over 10 MB (413), an unknown
    app (404) or model (400). Anything unexpected is logged with its traceback on the server's
    stderr and answered with a 500 and one line: the page never shows a traceback, and the
    server goes on serving.
  - Security: it listens on 127.0.0.1 unless --host says otherwise (and then warns). Uploads are
    size-limited and read in memory (Werkzeug spools a large one to the system's temporary
    folder); pictures and sound are drawn in temporary folders removed at once. No part of a
    request names a file: the page's files come from a fixed table read at start-up, a model is
    chosen by name among those fixed at start-up, and a music primer must be note names.
"""
