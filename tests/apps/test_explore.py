"""The explorer (`python -m apps.explore`) through Flask's test client: every app on the shipped
models, every kind of bad input (each followed by a good request), the command line, and a load
test of a real threaded server."""

import io
import json
import os
import shutil
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

from apps.explore import server
from apps.explore.server import create_app
from tests.apps.explore_server import running_server, scene_png, shared_models


@pytest.fixture(scope="module")
def client():
    return create_app(shared_models()).test_client()


def answer_of(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    assert "Traceback" not in response.get_data(as_text=True)
    return response.get_json()


# --- the page ------------------------------------------------------------------------------------


def test_the_page_and_its_files_are_served_by_the_app(client):
    page = client.get("/").get_data(as_text=True)
    for app in ("translate", "caption", "sentiment", "generate", "music", "dynamics"):
        assert f'id="{app}"' in page
    assert 'src="/static/explore.js"' in page and "http" not in page.replace("http-equiv", "")  # no CDN
    assert client.get("/static/explore.js").mimetype == "text/javascript"
    assert client.get("/static/explore.css").mimetype == "text/css"
    listing = answer_of(client.get("/api/apps"))
    assert listing["apps"]["translate"]["models"][0] == "transformer"  # the default first
    assert listing["apps"]["music"]["models"] == ["folk-lstm", "chorale-lstm"]


@pytest.mark.parametrize("path", ["/static/../setup.cfg", "/static/models.py", "/static/%2e%2e%2fsetup.cfg",
                                  "/static/index.html/../../server.py", "/etc/passwd"])
def test_no_request_path_reaches_the_file_system(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "install_requires" not in response.get_data(as_text=True)


# --- each app ------------------------------------------------------------------------------------


def test_translate_gives_french_and_the_beam_attention_for_each_sentence(client):
    answer = answer_of(client.post("/api/translate", json={"text": "The cat sleeps on the mat. I am cold."}))
    assert answer["model"] == "transformer" and answer["beam"] == 4
    assert "chat" in answer["translation"].lower()
    assert len(answer["sentences"]) == 2
    for sentence in answer["sentences"]:
        attention = np.array(sentence["attention"])
        assert attention.shape == (len(sentence["target_tokens"]), len(sentence["source_tokens"]))
        assert np.allclose(attention.sum(axis=1), 1.0, atol=0.01)  # each French word's weights over the English


@pytest.mark.parametrize("model", ["transformer", "attention-gru"])
def test_the_n_best_list_starts_with_the_answer_and_is_ranked(client, model):
    answer = answer_of(client.post("/api/translate", json={"text": "The cat sleeps on the mat.", "model": model,
                                                           "beam": 4}))
    [sentence] = answer["sentences"]
    found = sentence["n_best"]
    assert 2 <= len(found) <= 4 and len({h["translation"] for h in found}) == len(found)
    assert found[0]["translation"] == sentence["translation"]  # the in-process search is the exported one
    assert abs(found[0]["score"] - sentence["score"]) < 1e-3
    assert [h["score"] for h in found] == sorted((h["score"] for h in found), reverse=True)
    greedy = answer_of(client.post("/api/translate", json={"text": "I am cold.", "model": model, "beam": 1}))
    assert "n_best" not in greedy["sentences"][0]


def test_the_transformer_shows_every_layer_and_head_and_its_last_layer_is_the_beams(client):
    [sentence] = answer_of(client.post("/api/translate", json={"text": "I am cold.", "beam": 1}))["sentences"]
    cross, encoder = np.array(sentence["layers"]["cross"]), np.array(sentence["layers"]["encoder"])
    target, source = len(sentence["target_tokens"]), len(sentence["source_tokens"])
    assert cross.shape[2:] == (target, source) and encoder.shape[2:] == (source, source)
    assert cross.shape[:2] == encoder.shape[:2] and cross.shape[1] > 1  # (layers, heads, ...)
    # The teacher-forced pass reads the words the beam chose: its last layer, averaged over heads, is the beam's map.
    assert np.allclose(cross[-1].mean(axis=0), sentence["attention"], atol=2e-3)


def test_the_attention_gru_has_one_map_and_greedy_search(client):
    answer = answer_of(client.post("/api/translate", json={"text": "I am cold.", "model": "attention-gru", "beam": 1}))
    assert answer["model"] == "attention-gru" and answer["beam"] == 1
    assert answer["translation"] and "layers" not in answer["sentences"][0]


def test_caption_of_an_upload_and_each_words_attention_over_the_grid(client):
    png, truth = scene_png(seed=7)
    answer = answer_of(client.post("/api/caption", data={"image": (io.BytesIO(png), "scene.png")}))
    words = answer["words"]
    assert answer["caption"] and len(words) >= 2
    rows, columns = answer["grid"]
    attention = np.array(answer["attention"])
    assert attention.shape == (len(words), rows * columns)
    assert np.allclose(attention.sum(axis=1), 1.0, atol=0.01)
    assert answer["image"].startswith("data:image/png;base64,")
    # The example button draws the same scene: the same caption as its upload.
    assert answer_of(client.post("/api/caption", data={"example": "7"}))["caption"] == answer["caption"]


def test_sentiment_gives_the_label_and_a_weight_per_word(client):
    answer = answer_of(client.post("/api/sentiment", json={"text": "A wonderful, moving and funny film."}))
    assert answer["label"] == "positive" and answer["probability"] > 0.5
    assert answer["words"] == ["a", "wonderful", ",", "moving", "and", "funny", "film", "."]
    assert len(answer["attention"]) == len(answer["words"])
    assert abs(sum(answer["probabilities"].values()) - 1) < 1e-3


def stream_events(response):
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def test_generate_streams_the_text_of_the_exported_sampler_with_each_characters_surprisal(client):
    settings = {"temperature": 0.8, "top_k": 0, "top_p": 0.95, "seed": 3}
    response = client.post("/api/generate/stream", json={"prompt": "ROMEO:", "length": 40, **settings})
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    *characters, last = stream_events(response)
    assert len(characters) == 40 and last["done"] and last["characters"] == 40
    assert all(event["surprisal"] >= 0 for event in characters)
    assert last["nats_per_character"] == pytest.approx(np.mean([e["surprisal"] for e in characters]), abs=1e-3)
    # The same seed gives the SavedModel's text (what `python -m apps.generate` prints).
    from apps.common.serving import run_in_batches

    [row] = run_in_batches(shared_models().get("generate").signature("sample"), ["ROMEO:"], 1, "text",
                           max_new_tokens=40, **settings)
    assert "".join(e["character"] for e in characters) == row["text"].decode("utf-8")


def test_generate_scores_a_text_of_ones_own(client):
    text = "To be, or not to be"
    answer = answer_of(client.post("/api/generate/score", json={"text": text}))
    assert len(answer["surprisal"]) == len(text)
    assert answer["nats_per_character"] == pytest.approx(np.mean(answer["surprisal"]), abs=1e-3)
    # A Shakespeare model is less surprised by Shakespeare than by letters drawn at random.
    scrambled = answer_of(client.post("/api/generate/score", json={"text": "Tq zb, vx jkw qz xb"}))
    assert answer["nats_per_character"] < scrambled["nats_per_character"]


@pytest.mark.parametrize("style", ["folk", "chorale"])
def test_music_composes_draws_the_piano_roll_and_plays_it_where_fluidsynth_is(client, style):
    answer = answer_of(client.post("/api/music", json={"style": style, "bars": 2, "seed": 5, "primer": "C4 E4 G4"}))
    assert answer["style"] == style and answer["notes"] > 3
    assert answer["roll"].startswith("data:image/png;base64,")
    if shutil.which("fluidsynth"):
        assert answer["wav"].startswith("data:audio/wav;base64,")
    else:
        assert "fluidsynth" in answer["audio_note"]


def test_dynamics_forecasts_against_the_truth(client):
    answer = answer_of(client.post("/api/dynamics", json={"steps": 300, "seed": 2, "model": "lorenz-gru"}))
    assert answer["model"] == "lorenz-gru" and answer["system"] == "Lorenz-63"
    assert 0 <= answer["valid_prediction_steps"] <= 300 and answer["variables"] == ["x", "y", "z"]
    assert answer["plot"].startswith("data:image/png;base64,")


@pytest.mark.parametrize("model, system, variables", [("henon-lstm", "Henon map", ["x", "y"]),
                                                      ("lotka-volterra-lstm", "Lotka-Volterra", ["prey", "predators"])])
def test_the_choice_of_system_is_the_choice_of_its_forecaster(client, model, system, variables):
    answer = answer_of(client.post("/api/dynamics", json={"steps": 200, "seed": 1, "model": model}))
    assert answer["model"] == model and answer["system"] == system and answer["variables"] == variables
    assert 0 < answer["valid_prediction_steps"] <= 200


# --- bad input: a message and a 4xx, and the next request is answered ---------------------------

FORTY_MEGABYTES = b"\xff" * (40 * 2**20)
BAD_REQUESTS = {
    "empty text": ("/api/sentiment", {"json": {"text": "  "}}, 400, "nothing to read"),
    "20,000 words": ("/api/translate", {"json": {"text": "word " * 20_000}}, 400, "too long"),
    "not an image": ("/api/caption", {"data": {"image": (io.BytesIO(b"%PDF-1.4 not a photo"), "a.jpg")}}, 400,
                     "not an image"),
    "an empty file": ("/api/caption", {"data": {"image": (io.BytesIO(b""), "a.png")}}, 400, "empty"),
    "no photo": ("/api/caption", {"data": {}}, 400, "choose a photo"),
    "40 MB upload": ("/api/caption", {"data": {"image": (io.BytesIO(FORTY_MEGABYTES), "big.jpg")}}, 413,
                     "at most 10 MB"),
    "unknown app": ("/api/summarise", {"json": {"text": "Hi"}}, 404, "unknown app"),
    "unknown model": ("/api/translate", {"json": {"text": "Hi.", "model": "../../etc"}}, 400, "unknown translate"),
    "bad beam": ("/api/translate", {"json": {"text": "Hi.", "beam": 0}}, 400, "beam: expected an integer in 1..8"),
    "bad temperature": ("/api/generate/stream", {"json": {"temperature": "hot"}}, 400, "temperature: expected"),
    "a file as primer": ("/api/music", {"json": {"primer": "/etc/passwd"}}, 400, "primer: expected note names"),
    "a wrong primer": ("/api/music", {"json": {"primer": "H9"}}, 400, "primer"),
    "a wrong key": ("/api/music", {"json": {"key": "X major"}}, 400, "key"),
    "too long a horizon": ("/api/dynamics", {"json": {"steps": 10**9}}, 400, "steps: expected"),
    "not JSON": ("/api/sentiment", {"data": "{text:", "content_type": "application/json"}, 400, "not valid JSON"),
    "a JSON list": ("/api/sentiment", {"json": ["text"]}, 400, "expected a JSON object"),
    "GET on a form": ("/api/translate", {"method": "get"}, 405, ""),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_input_is_a_message_and_a_4xx_and_the_next_request_is_served(client, name):
    path, options, status, message = BAD_REQUESTS[name]
    options = dict(options)
    method = options.pop("method", "post")
    answer = answer_of(getattr(client, method)(path, **options), status)
    assert message in answer["error"]
    assert answer_of(client.post("/api/sentiment", json={"text": "A dull film."}))["label"] == "negative"


def test_an_unexpected_failure_is_a_500_with_one_line_and_the_server_goes_on(client, monkeypatch, caplog):
    def broken(models, fields, files):
        raise RuntimeError("a bug")

    monkeypatch.setitem(server.ANSWERS, "dynamics", broken)
    answer = answer_of(client.post("/api/dynamics", json={}), 500)
    assert answer["error"] == "internal error (RuntimeError); the server's log has the details"
    assert "a bug" in caplog.text  # the traceback is the server's, not the page's
    monkeypatch.undo()
    assert answer_of(client.post("/api/sentiment", json={"text": "Great."}))["label"] == "positive"


def test_one_apps_loading_never_blocks_another_apps_requests():
    from apps.explore.models import Models

    models = Models()  # nothing loaded yet
    task, loading, release = models.task("translate"), threading.Event(), threading.Event()
    real_directory = task.directory

    def slow_directory(path):  # called under the translate lock, while its model loads
        loading.set()
        release.wait(timeout=120)
        return real_directory(path)

    task.directory = slow_directory
    client = create_app(models).test_client()
    answers = {}
    translating = threading.Thread(target=lambda: answers.update(
        translate=client.post("/api/translate", json={"text": "I am cold.", "model": "attention-gru"})))
    translating.start()
    try:
        assert loading.wait(timeout=60)
        assert answer_of(client.post("/api/sentiment", json={"text": "Great fun."}))["label"] == "positive"
        assert translating.is_alive() and "translate" not in answers  # still loading meanwhile
    finally:
        release.set()
        translating.join(timeout=120)
    assert answer_of(answers["translate"])["translation"]


# --- the command line ------------------------------------------------------------------------------


class FakeServer:
    server_port = 8765

    def serve_forever(self):
        pass

    def server_close(self):
        pass


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_it_listens_on_this_machine_unless_told_otherwise_and_says_so(monkeypatch, capsys, host, warned):
    from apps.explore import __main__ as command

    bound = []
    monkeypatch.setattr(server, "make_server", lambda app, host, port: bound.append((host, port)) or FakeServer())
    argv = ["--port", "8765"] + (["--host", host] if host != "127.0.0.1" else [])
    assert command.main(argv) == 0
    out, err = capsys.readouterr()
    assert bound == [(host, 8765)]
    assert f"http://{host}:8765/" in out
    assert ("warning: listening on 0.0.0.0" in err) == warned


def test_the_command_lines_errors_are_one_line(capsys, tmp_path):
    from apps.common.cli import run
    from apps.explore.__main__ import main

    assert run(main, ["--model-dir", "nonsense=/x"]) == 2
    assert "--model-dir: expected APP=DIR" in capsys.readouterr().err
    assert run(main, ["--model-dir", f"translate={tmp_path}"]) == 2
    assert "config.json is missing" in capsys.readouterr().err
    assert run(main, ["--port", "70000"]) == 2


# --- load: requests from 8 clients on a real threaded server ---------------------------------------

# 64 requests in `make test` (8 of each kind); the README's latency table is measured with
# EXPLORE_LOAD_REQUESTS=200.
LOAD_REQUESTS = int(os.environ.get("EXPLORE_LOAD_REQUESTS", "64"))
CLIENTS, LOAD_SECONDS = 8, 420


def load_requests():
    """The mix, one tiny request of each kind in turn: (app, path, body, is_form)."""
    return [
        ("translate", "/api/translate", {"text": "I am cold.", "beam": 2}, False),
        ("sentiment", "/api/sentiment", {"text": "A sad, slow film."}, False),
        ("caption", "/api/caption", {"example": "1", "beam": 1}, True),
        ("generate", "/api/generate/stream", {"prompt": "KING:", "length": 20}, False),
        ("generate", "/api/generate/score", {"text": "What light through yonder window"}, False),
        ("music", "/api/music", {"style": "folk", "bars": 1}, False),
        ("dynamics", "/api/dynamics", {"steps": 100}, False),
        ("translate", "/api/translate", {"text": "The dog runs.", "model": "attention-gru"}, False),
    ]


def send(base, path, body, is_form):
    if is_form:
        data, kind = urllib.parse.urlencode(body).encode(), "application/x-www-form-urlencoded"
    else:
        data, kind = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": kind})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, response.headers, response.read()


def test_requests_from_8_clients_get_answers_and_latencies_are_reported(capsys):
    mix = load_requests()
    with running_server(create_app(shared_models())) as base:
        for _, path, body, is_form in mix:  # each model loads once before the clock starts
            send(base, path, body, is_form)
        jobs = iter(range(LOAD_REQUESTS))
        lock, latencies, failures = threading.Lock(), {}, []
        deadline = time.monotonic() + LOAD_SECONDS

        def client_loop():
            while time.monotonic() < deadline:
                with lock:
                    number = next(jobs, None)
                if number is None:
                    return
                app, path, body, is_form = mix[number % len(mix)]
                started = time.monotonic()
                try:
                    status, headers, data = send(base, path, body, is_form)
                    if path.endswith("stream"):
                        assert headers.get("Transfer-Encoding") == "chunked"  # sent as made, not at the end
                        assert json.loads(data.splitlines()[-1])["done"]
                    else:
                        assert "error" not in json.loads(data)
                except Exception as error:  # noqa: BLE001 - every failure is reported below
                    with lock:
                        failures.append(f"{path}: {error!r}")
                    continue
                with lock:
                    latencies.setdefault(app, []).append(time.monotonic() - started)

        started = time.monotonic()
        threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=LOAD_SECONDS + 150)
        elapsed = time.monotonic() - started
    done = sum(len(times) for times in latencies.values())
    lines = [f"explore load test: {done} requests from {CLIENTS} clients in {elapsed:.1f} s"]
    for app, times in sorted(latencies.items()):
        p50, p95 = statistics.median(times), float(np.percentile(times, 95))
        lines.append(f"  {app:<10} {len(times):>4} requests   p50 {1000 * p50:7.0f} ms   p95 {1000 * p95:7.0f} ms")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert not failures, failures[:5]
    assert done == LOAD_REQUESTS, f"only {done} of {LOAD_REQUESTS} requests in {LOAD_SECONDS} s"
