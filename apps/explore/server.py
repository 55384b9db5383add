"""The explorer's web server: one page, its script and style, and one JSON endpoint per app.

    GET  /                       the page (static/index.html)
    GET  /static/<name>          its script and style, from a fixed table read at start-up
    GET  /api/apps               each app's models (the default first), and whether FluidSynth is there
    POST /api/<app>              translate, caption (a form with an upload), sentiment, music, dynamics
    POST /api/generate/stream    characters as they are made: one JSON object per line (NDJSON)
    POST /api/generate/score     the surprisal of each character of a text

Every answer is JSON. A bad request is {"error": message} with a 4xx status (`InputError`, an
app's `UserError`, an upload over `MAX_UPLOAD_BYTES`: 413, an unknown app: 404); anything else
is logged with its traceback on the server's stderr and answered {"error": ...} with status 500,
so the page never shows a traceback and the server goes on serving.
"""

import json
import logging
import shutil
from importlib import resources

from apps.explore import caption, dynamics, generate, music, sentiment, translate
from apps.explore.inputs import Fields, InputError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ASSETS = {"index.html": "text/html", "explore.js": "text/javascript", "explore.css": "text/css"}
ANSWERS = {"translate": translate.answer, "caption": caption.answer, "sentiment": sentiment.answer,
           "music": music.answer, "dynamics": dynamics.answer, "generate/score": generate.score}
TITLES = {"translate": "Translate", "caption": "Caption", "sentiment": "Sentiment", "generate": "Generate",
          "music": "Music", "dynamics": "Dynamics"}

log = logging.getLogger("apps.explore")


def create_app(models):
    """The Flask application over `models` (an `apps.explore.models.Models`)."""
    from flask import Flask, Response, jsonify, request
    from werkzeug.exceptions import HTTPException

    app = Flask(__name__, static_folder=None)  # no static route: a request path never reaches the disk
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    assets = {name: (resources.files("apps.explore").joinpath("static", name).read_bytes(), mime)
              for name, mime in ASSETS.items()}

    def asset(name):
        data, mime = assets[name]
        return Response(data, mimetype=mime, headers={"Cache-Control": "no-cache"})

    @app.before_request
    def refuse_large_bodies():
        if request.content_length and request.content_length > MAX_UPLOAD_BYTES:
            raise InputError(f"the upload is {request.content_length / 2**20:.1f} MB: at most "
                             f"{MAX_UPLOAD_BYTES // 2**20} MB", status=413)

    @app.get("/")
    def page():
        return asset("index.html")

    @app.get("/static/<name>")
    def static_file(name):
        if name not in assets or name == "index.html":
            raise InputError(f"no such file: {name}", status=404)
        return asset(name)

    @app.get("/api/apps")
    def list_apps():
        return jsonify({"apps": {app_name: {"title": title, "models": models.names(app_name)}
                                 for app_name, title in TITLES.items()},
                        "sound": shutil.which("fluidsynth") is not None})

    @app.post("/api/generate/stream")
    def generate_stream():
        events = generate.stream(models, request_fields(), request.files)  # checked before the first line

        def lines():
            try:
                for event in events:
                    yield json.dumps(event, ensure_ascii=False) + "\n"
            except Exception as error:  # noqa: BLE001 - the status is sent: say it in the stream
                log.exception("generate/stream failed")
                yield json.dumps({"error": f"generation stopped: {type(error).__name__}"}) + "\n"

        return Response(lines(), mimetype="application/x-ndjson", headers={"Cache-Control": "no-cache",
                                                                             "X-Accel-Buffering": "no"})

    @app.post("/api/<path:name>")
    def run_app(name):
        if name not in ANSWERS:
            raise InputError(f"unknown app {name!r}: expected one of {', '.join(TITLES)}", status=404)
        return jsonify(ANSWERS[name](models, request_fields(), request.files))

    def request_fields():
        if not request.is_json:
            return Fields(request.form)
        values = request.get_json(silent=True)
        if values is None and request.content_length:
            raise InputError("the request is not valid JSON")
        return Fields(values)

    @app.errorhandler(Exception)
    def error_answer(error):
        from apps.common.cli import UserError
        from datasets.errors import DataError

        if isinstance(error, InputError):
            return jsonify({"error": str(error)}), error.status
        if isinstance(error, (UserError, DataError)):
            return jsonify({"error": str(error)}), 400
        if isinstance(error, HTTPException):
            message = {413: f"the upload is too large: at most {MAX_UPLOAD_BYTES // 2**20} MB"}.get(
                error.code, error.description)
            return jsonify({"error": message}), error.code
        log.exception("request failed")
        return jsonify({"error": f"internal error ({type(error).__name__}); the server's log has the details"}), 500

    return app


def make_server(app, host="127.0.0.1", port=0):
    """A threaded WSGI server (one thread per request) on host:port; port 0 picks a free one
    (`server.server_port` says which). Requests are not logged one by one: errors are."""
    from werkzeug.serving import WSGIRequestHandler
    from werkzeug.serving import make_server as werkzeug_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            pass

    return werkzeug_server(host, port, app, threaded=True, request_handler=QuietHandler)
