"""The music app: tokens and rolls, the baselines, tiny models on toy music, MIDI out, export, bad input."""

import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from apps.common.cli import UserError
from apps.common.runner import Runner
from apps.music import data, events, theory
from apps.music.baselines import KeyMarginal, KeyMarkov, NGramModel, frame_nll
from apps.music.midi import read_midi, write_midi
from apps.music.roll import LOWEST_KEY, VOICE_RANGES, key_names, piano_roll, roll_voices, transpose_roll
from apps.music.task import SHIPPED, MusicTask
from tests.helpers import run_saved_model_without_project_code

PERIOD = [60, 62, 64, 67]  # C4 D4 E4 G4, eighth notes
CHORDS = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48)]  # C F G C, soprano first


def _melody_file(path, bars):
    notes = [(PERIOD[i % 4], i * 0.5, 0.5, 0) for i in range(8 * bars)]
    write_midi(np.array(notes, float), str(path), parts=1, metre="4/4", tonality="C major")


def _chorale_file(path, repeats):
    notes = [(pitch, 1.0 * (4 * r + c), 1.0, voice)
             for r in range(repeats) for c, chord in enumerate(CHORDS) for voice, pitch in enumerate(chord)]
    write_midi(np.array(notes, float), str(path), parts=4, metre="4/4", tonality="C major")


@pytest.fixture(scope="module")
def folk(tmp_path_factory):
    root = tmp_path_factory.mktemp("folk")
    (root / "tunes").mkdir()
    for i in range(24):
        _melody_file(root / "tunes" / f"reel{i}.mid", bars=8 + i % 4)  # file names that give every split
    keras.utils.set_random_seed(0)  # the same initial weights and batches on every run
    runner = Runner(MusicTask())
    assert runner.main(["train", "--model", "folk-lstm", "--size", "tiny", "--data", str(root / "tunes"),
                        "--transpose", "0", "--epochs", "12", "--batch-size", "2", "--learning-rate", "0.02",
                        "--out", str(root / "model")]) == 0
    return runner, root


@pytest.fixture(scope="module")
def chorale(tmp_path_factory):
    root = tmp_path_factory.mktemp("chorale")
    (root / "pieces").mkdir()
    for i in range(16):
        _chorale_file(root / "pieces" / f"piece{i}.mid", repeats=6 + i % 3)
    keras.utils.set_random_seed(0)
    runner = Runner(MusicTask())
    assert runner.main(["train", "--model", "chorale-lstm", "--size", "tiny", "--data", str(root / "pieces"),
                        "--transpose", "0", "--epochs", "20", "--batch-size", "2", "--learning-rate", "0.02",
                        "--out", str(root / "model")]) == 0
    return runner, root


def compose(runner, model_dir, capsys, *args):
    assert runner.main(["--model-dir", str(model_dir), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


# --- tokens, rolls, theory ---------------------------------------------------------------------------


def test_a_tune_becomes_context_notes_rests_and_bar_lines_and_comes_back():
    # A pickup of one quarter in 2/4, a rest across a bar line, a tied note over the next one.
    # Onsets 0 (a pickup), 1, 1.5, 3 (after a rest up to the bar line at 3), 5.5 (the note before is
    # held over the bar line at 5).
    notes = np.array([[67, 0, 1, 0], [72, 1, 0.5, 0], [74, 0.5, 0.5, 0], [76, 1.5, 2.5, 0], [72, 2.5, 1, 0]],
                     np.float32)
    piece = type("Piece", (), {"notes": notes, "tonality": "G major", "metre": "2/4", "bars": (1.0, 3.0, 5.0)})
    tokens = events.tune_tokens(piece)
    assert tokens == ["<start>", "<metre:2/4>", "<key:G>", "<mode:major>", "G4:1", "|", "C5:1/2", "D5:1/2",
                      "R:1", "|", "E5:5/2", "|", "C5:1", "|", "<end>"]
    line, bar_times = events.events_to_melody(tokens)
    np.testing.assert_allclose(line, [[0, 67, 1], [1, 72, 0.5], [1.5, 74, 0.5], [3, 76, 2.5], [5.5, 72, 1]])
    assert bar_times == [1.0, 3.0, 5.5, 6.5]
    assert events.read_context(tokens) == ("2/4", 7, "major")
    assert events.transpose_token("E5:5/2", 2) == "F#5:5/2" and events.transpose_token("<key:G>", 5) == "<key:C>"


def test_a_melody_keeps_the_top_note_of_a_chord_and_drops_grace_notes():
    notes = np.array([[60, 0, 1, 0], [64, 0, 1, 0], [70, 1, 0, 0], [62, 0, 1, 0]], np.float32)
    np.testing.assert_allclose(events.melody(notes), [[0, 64, 1], [1, 62, 1]])


def test_note_names_keys_and_primers_parse_or_say_why_not():
    assert [theory.parse_pitch(n) for n in ("C4", "F#5", "Bb3", "a0", "C8")] == [60, 78, 58, 21, 108]
    assert theory.pitch_name(61) == "C#4" and theory.pitch_name(70) == "Bb4"
    assert theory.parse_tonality("Em") == (4, "minor") and theory.parse_tonality("A dorian") == (9, "dorian")
    assert theory.parse_tonality("Dmix") == (2, "mixolydian") and theory.parse_tonality("Bb major") == (10, "major")
    assert theory.find_key([60, 62, 64, 65, 67, 69, 71, 72], [1, 1, 1, 1, 2, 1, 1, 2]) == (0, "major")
    assert theory.find_key([57, 60, 64, 57, 59, 60, 62, 64, 68, 69]) == (9, "minor")
    assert events.parse_note_list("C4 E4:1/4 R G3+B3", "1/2") == [((60,), 0.5), ((64,), 0.25), ((), 0.5),
                                                                 ((55, 59), 0.5)]
    with pytest.raises(ValueError, match="'H4' is not a note name"):
        events.parse_note_list("C4 H4", "1")
    with pytest.raises(ValueError, match="not a duration"):
        events.parse_note_list("C4:x", "1")
    with pytest.raises(ValueError, match="unknown mode"):
        theory.parse_tonality("G lydianish")


def test_the_roll_keeps_frame_starts_and_four_voices_come_back_in_order():
    timed = np.array([[72, 0, 2, 0], [67, 0, 1, 1], [64, 0, 1, 2], [48, 0, 2, 3],
                      [65, 1, 1, 1], [60, 1, 1, 2], [74, 0.25, 0.25, 0]])  # the sixteenth misses every frame start
    roll = piano_roll(timed, 0.5)
    assert roll.shape == (4, 88)
    assert [sorted(LOWEST_KEY + np.flatnonzero(f)) for f in roll] == [[48, 64, 67, 72]] * 2 + [[48, 60, 65, 72]] * 2
    voices = roll_voices(roll, 0.5)
    np.testing.assert_allclose(voices, [[72, 0, 2, 0], [67, 0, 1, 1], [64, 0, 1, 2], [48, 0, 2, 3],
                                        [65, 1, 1, 1], [60, 1, 1, 2]])
    # Three keys go to the three voices nearest their last pitches, in order: the alto (67) rests.
    three = piano_roll(np.array([[72, 0, 2, 0], [67, 0, 1, 1], [60, 0, 1, 2], [48, 0, 2, 3], [59, 1, 1, 2]]), 1.0)
    np.testing.assert_allclose(roll_voices(three, 1.0), [[72, 0, 2, 0], [67, 0, 1, 1], [60, 0, 1, 2],
                                                           [48, 0, 2, 3], [59, 1, 1, 2]])
    assert np.array_equal(transpose_roll(roll, 2)[:, 50], roll[:, 48])
    from apps.music.roll import missed_notes

    assert missed_notes(timed, 0.5).tolist() == [False] * 6 + [True]  # what a primer warns about


def test_encode_cuts_windows_of_the_window_option():
    import argparse

    notes = np.array([[60 + i % 5, 0.5 * (i > 0), 0.5, 0] for i in range(12)], np.float32)
    piece = type("Piece", (), {"key": "t", "notes": notes, "tonality": "C major", "metre": "2/4", "bars": ()})
    task = MusicTask()
    vocabularies = {"tokens": data.event_vocabulary([piece], 0, task.tokens)}
    ids = [vocabularies["tokens"].index(t) for t in task.tokens(piece)]
    (windows,) = task.encode([piece], vocabularies, args=argparse.Namespace(window=4))
    assert [len(w) for w in windows[:-1]] == [5] * (len(windows) - 1) and len(windows[-1]) <= 5
    assert [w[0] for w in windows[1:]] == [w[-1] for w in windows[:-1]]  # each window starts where one ended
    assert windows[0] == ids[:5] and windows[-1][-1] == ids[-1]
    (default,) = task.encode([piece], vocabularies)
    assert default == [ids]  # the default window (256) holds the whole tune


# --- baselines ---------------------------------------------------------------------------------------


def test_the_witten_bell_ngram_matches_a_hand_computation():
    # Vocabulary of 5, one training sequence 0 1 2 1 2 (0 = <start>, never predicted).
    model = NGramModel(2, 5).fit([[0, 1, 2, 1, 2]])
    # Unigram: 1 twice, 2 twice (N = 4, T = 2): p(w) = (c(w) + 2 / 5) / 6.
    unigram = {w: (c + 2 / 5) / 6 for w, c in {0: 0, 1: 2, 2: 2, 3: 0, 4: 0}.items()}
    assert model.probability((), 1) == pytest.approx(unigram[1])  # 0.4
    assert model.probability((), 3) == pytest.approx(1 / 15)
    # After 1: 2 twice (c = 2, T = 1): p(2 | 1) = (2 + p(2)) / 3; p(1 | 1) = p(1) / 3.
    assert model.probability((1,), 2) == pytest.approx((2 + unigram[2]) / 3)
    assert model.probability((1,), 1) == pytest.approx(unigram[1] / 3)
    # A context never seen backs off to the unigram.
    assert model.probability((4,), 2) == pytest.approx(unigram[2])
    # nll scores positions >= skip: here 1 after <start> (seen once: p = (1 + p(1)) / 2) and 2 after 1.
    total, count = model.nll([[0, 1, 2]], skip=1)
    assert count == 2
    assert total == pytest.approx(-np.log((1 + unigram[1]) / 2) - np.log((2 + unigram[2]) / 3))
    # Order 1 on the same model: the unigram alone; and every distribution sums to one.
    assert model.nll([[0, 1, 2]], skip=2, order=1)[0] == pytest.approx(-np.log(unigram[2]))
    for context in [(), (0,), (1,), (2,), (3,)]:
        assert sum(model.probability(context, w) for w in range(5)) == pytest.approx(1.0)
    trigram = NGramModel(3, 5).fit([[0, 1, 2, 1, 2]])
    # Context (1, 2) was followed by 1 once (T = 1): (1 + p_bigram(1 | 2)) / 2, with p(1 | 2) = (1 + p(1)) / 2.
    assert trigram.probability((1, 2), 1) == pytest.approx((1 + (1 + unigram[1]) / 2) / 2)


def test_the_roll_baselines_and_the_frame_loss_follow_their_formulas():
    from apps.music import model

    roll = np.zeros((4, 2), np.float32)
    roll[:, 0] = [1, 1, 0, 1]
    marginal = KeyMarginal().fit([roll])
    np.testing.assert_allclose(marginal.p, [(3 + 1) / 6, 1 / 6])
    total, frames = marginal.nll([roll], skip=1)
    assert frames == 3
    expected = -(2 * np.log(4 / 6) + np.log(2 / 6)) - 3 * np.log(5 / 6)
    assert total == pytest.approx(expected)
    markov = KeyMarkov().fit([roll])  # key 0 after off (the start frame, frame 2): on twice of 2; after on: once of 2
    np.testing.assert_allclose(markov.p[:, 0], [(2 + 1) / 4, (1 + 1) / 4])
    logits = np.array([[[0.5, -2.0], [3.0, 0.0]]], np.float32)
    targets = np.array([[[1, 0], [-1, -1]]], np.float32)  # the second frame is padding
    sigmoid = 1 / (1 + np.exp(-logits[0, 0]))
    assert float(model.frame_nll(targets, logits)) == pytest.approx(-np.log(sigmoid[0]) - np.log(1 - sigmoid[1]),
                                                                    rel=1e-5)


def test_the_keras_loss_and_the_numpy_frame_nll_agree_on_a_piece():
    from apps.music import model

    timed = np.array([(pitch, 1.0 * c, 1.0, voice) for c, chord in enumerate(CHORDS)
                      for voice, pitch in enumerate(chord)])
    roll = piano_roll(timed, 0.5)  # (8, 88)
    logits = np.random.default_rng(0).normal(0, 3, roll.shape).astype(np.float32)
    per_frame = frame_nll(roll, logits)
    assert per_frame.shape == (8,)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.nll_per_frame(roll[None], logits[None]))[0],
                               per_frame, rtol=1e-5)
    assert float(model.frame_nll(roll[None], logits[None])) == pytest.approx(per_frame.mean(), rel=1e-5)
    sigmoid = 1 / (1 + np.exp(-logits.astype(np.float64)))
    by_definition = -np.sum(roll * np.log(sigmoid) + (1 - roll) * np.log(1 - sigmoid), axis=-1)
    np.testing.assert_allclose(per_frame, by_definition, rtol=1e-6)


# --- folk: train, compose, reproduce, export ---------------------------------------------------------


def test_tiny_training_learns_the_periodic_melody(folk, capsys):
    runner, root = folk
    piece = compose(runner, root / "model", capsys, "--primer", "C4 D4 E4", "--key", "C", "--top-k", "1",
                    "--length", "2")
    assert [row[0] for row in piece["timed_notes"]] == [PERIOD[i % 4] for i in range(16)]  # 3 + 5 + 8 eighths
    assert piece["text"].split()[:4] == ["<metre:4/4>", "<key:C>", "<mode:major>", "C4:1/2"]
    assert piece["text"].count("|") == 2 and piece["text"].endswith("|")  # exactly --length bar lines
    assert all(d > 0 for _, _, d, _ in piece["timed_notes"])
    assert piece["key"] == "C major" and piece["metre"] == "4/4" and piece["parts"] == 1
    assert piece["truncated"] is False


def test_the_event_limit_leaves_room_for_the_longest_bar_of_shortest_notes():
    from apps.music.serving import events_per_bar

    assert events_per_bar(["<metre:?>"]) == 4 * 12 + 1  # a 4/4 bar of twelfths and its bar line
    assert events_per_bar(["<metre:2/4>", "<metre:12/8>", "<metre:?>", "C4:1"]) == 6 * 12 + 1


def test_eval_reports_the_model_and_the_ngram_on_the_same_events(folk, capsys):
    runner, root = folk
    assert runner.main(["eval", "--model-dir", str(root / "model"), "--split", "validation", "--samples", "2",
                        "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["data"] == str(root / "tunes")  # the model's own training data by default
    assert metrics["nll_per_event"] < 0.5 and metrics["ngram"]["nll_per_event"] < 1.0
    assert metrics["ngram"]["events"] == metrics["events"] > 0  # both scored the same events
    checks = metrics["music_checks"]
    assert checks["pieces"] == 2 and checks["durations_positive"] and checks["in_range_share"] == 1.0


def test_a_seed_reproduces_and_the_midi_round_trips_through_music21(folk, capsys, tmp_path):
    from music21 import converter

    from datasets.music import stream_to_notes

    runner, root = folk
    args = ("--temperature", "3", "--seed", "5", "--length", "3", "--out", str(tmp_path / "a.mid"),
            "--roll", str(tmp_path / "a.png"))
    first = compose(runner, root / "model", capsys, *args)
    assert compose(runner, root / "model", capsys, *args) == first
    other = compose(runner, root / "model", capsys, "--temperature", "3", "--seed", "6", "--length", "3")
    assert other["text"] != first["text"]
    assert (tmp_path / "a.png").stat().st_size > 1000
    score = converter.parse(str(tmp_path / "a.mid"))
    assert len(score.parts) == 1
    notes = stream_to_notes(score)
    expected = np.array(first["timed_notes"], float)
    np.testing.assert_allclose(notes[:, 0], expected[:, 0])
    np.testing.assert_allclose(np.cumsum(notes[:, 1]), expected[:, 1], atol=1e-6)
    np.testing.assert_allclose(notes[:, 2], expected[:, 2], atol=1e-6)


def test_export_reloads_without_our_code_and_samples_the_same_events(folk, capsys, tmp_path):
    runner, root = folk
    piece = compose(runner, root / "model", capsys, "--temperature", "2", "--seed", "9", "--length", "2", "--key",
                    "C major", "--metre", "4/4")
    assert runner.main(["export", "--model-dir", str(root / "model"), "--out", str(tmp_path / "exported")]) == 0
    script = """
        out = loaded.signatures["sample"](primer=tf.constant(["<metre:4/4> <key:C> <mode:major>"]),
                                          temperature=tf.constant(2.0), top_k=tf.constant(0),
                                          top_p=tf.constant(1.0), seed=tf.constant(9), bars=tf.constant(2))
        default = loaded.signatures["serving_default"](primer=tf.constant([""]))
        print(json.dumps([out["events"].numpy()[0].decode(), default["events"].numpy()[0].decode()]))
    """
    sampled, default = run_saved_model_without_project_code(script, tmp_path / "exported")
    assert "<metre:4/4> <key:C> <mode:major> " + sampled == piece["text"]
    assert default.count("|") == 16 and default.startswith("<metre:")  # an empty primer: the model picks the context


# --- chorales ----------------------------------------------------------------------------------------


def test_a_tiny_chorale_model_composes_four_voices_in_range(chorale, capsys, tmp_path):
    from music21 import converter

    from datasets.music import stream_to_notes

    runner, root = chorale
    piece = compose(runner, root / "model", capsys, "--temperature", "0.5", "--seed", "2", "--length", "2",
                    "--primer", "C3+E4+G4+C5:1", "--out", str(tmp_path / "c.mid"), "--roll", str(tmp_path / "c.png"))
    assert piece["parts"] == 4 and piece["metre"] == "4/4"
    timed = np.array(piece["timed_notes"], float)
    assert set(timed[:, 3].astype(int)) == {0, 1, 2, 3} and (timed[:, 2] > 0).all()
    assert piece["in_voice_range_share"] == 1.0
    for voice, (low, high) in enumerate(VOICE_RANGES):
        assert ((timed[timed[:, 3] == voice, 0] >= low) & (timed[timed[:, 3] == voice, 0] <= high)).all()
    # The primer's quarter, the three quarters that complete its bar, then two bars.
    assert np.max(timed[:, 1] + timed[:, 2]) == pytest.approx(1 + 3 + 2 * 4)
    score = converter.parse(str(tmp_path / "c.mid"))
    assert len(score.parts) == 4
    notes = stream_to_notes(score)  # ties (notes over a bar line) merged
    for voice in range(4):
        written, read = timed[timed[:, 3] == voice], notes[notes[:, 3] == voice]
        np.testing.assert_allclose(read[:, 0], written[:, 0])
        np.testing.assert_allclose(read[:, 2], written[:, 2])


def test_chorale_eval_follows_the_jsb_protocol_next_to_the_baselines(chorale, capsys):
    import argparse

    from apps.common.model_directory import ModelDirectory

    runner, root = chorale
    command = ["eval", "--model-dir", str(root / "model"), "--split", "validation", "--json"]
    assert runner.main([*command, "--samples", "2"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["frame"] == 0.5 and metrics["published_jsb"] == {"LSTM": 8.45, "GRU": 8.43, "TCN": 8.10}
    assert metrics["frame_nll"] < metrics["baselines"]["per-key marginal"]
    assert metrics["music_checks"]["pieces"] == 2
    args = argparse.Namespace(command="eval", data=str(root / "pieces"), model_dir=str(root / "model"))
    rolls = [piano_roll(_timed_notes(p.notes), 0.5) for p in runner.task.load_split(args, "validation")]
    assert metrics["frames"] == sum(len(roll) - 1 for roll in rolls)  # every frame after each piece's first
    # One piece by hand: each frame read after the one before (silence first), the first not scored.
    assert runner.main([*command, "--samples", "0", "--limit", "1"]) == 0
    one = json.loads(capsys.readouterr().out)
    roll = rolls[0]
    model = runner.load_model(ModelDirectory(root / "model", ("tokens",)))
    inputs = np.concatenate([np.zeros((1, 88), np.float32), roll[:-1]])[None]
    logits = keras.ops.convert_to_numpy(model(inputs, training=False))[0]
    assert one["frames"] == len(roll) - 1
    assert one["frame_nll"] == pytest.approx(frame_nll(roll[1:], logits[1:]).mean(), abs=2e-4)


def _timed_notes(notes):
    """Step-encoded notes (`datasets.music`) -> timed notes, computed here rather than by the app."""
    notes = np.asarray(notes, np.float64)
    return np.stack([notes[:, 0], np.cumsum(notes[:, 1]), notes[:, 2], notes[:, 3]], axis=1)


def test_the_frame_is_recorded_and_init_from_refuses_another(chorale, tmp_path):
    runner, root = chorale
    config = json.loads((root / "model" / "config.json").read_text())
    assert config["data_settings"] == {"frame": 0.5}
    message = "was trained with frame 0.5, but this run's options give frame 1.0"
    with pytest.raises(UserError, match=re.escape(message)):
        runner.main(["train", "--model", "chorale-lstm", "--size", "tiny", "--data", str(root / "pieces"),
                     "--frame", "quarter", "--init-from", str(root / "model"), "--out", str(tmp_path / "more")])


def test_the_roll_server_reads_and_writes_frames_as_text(chorale):
    import tensorflow as tf

    from apps.common.model_directory import ModelDirectory

    signature = ModelDirectory(chorale[1] / "model").load_serving().signatures["sample"]
    out = signature(primer=tf.constant(["C3+E4+G4+C5 . C3+E4+G4+C5", ""]), temperature=tf.constant(1.0),
                    seed=tf.constant(3), frames=tf.constant(5))
    assert out["roll"].shape == (2, 5, 88)
    names = key_names()
    for text, roll in zip(out["frames"].numpy(), out["roll"].numpy(), strict=True):
        frames = text.decode().split()
        assert len(frames) == 5
        assert frames == ["+".join(names[k] for k in np.flatnonzero(f)) or "." for f in roll]
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the roll"):
        signature(primer=tf.constant(["C3+H9"]), temperature=tf.constant(1.0), seed=tf.constant(0),
                  frames=tf.constant(2))


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--primer", ""], "--primer is empty"),
    (["--primer", "   "], "--primer is empty"),
    (["--primer", "C4 X4"], "'X4' is not a note name"),
    (["--primer", "C9"], "C9 is outside the model's range"),
    (["--primer", "C4+E4"], "a folk melody is one line"),
    (["--primer", "R R"], "only rests"),
    (["--primer", "missing.mid"], "missing.mid: no such file"),
    (["--length", "0"], "expected an integer in 1..64, got 0"),
    (["--length", "65"], "expected an integer in 1..64, got 65"),
    (["--length", "1000000000"], "expected an integer in 1..64"),
    (["--key", "H major"], "--key: 'H' is not a key's tonic"),
    (["--key", "D phrygian"], "the model knows the modes major"),
    (["--metre", "6/8"], "--metre 6/8 is not one the model knows (4/4)"),
    (["--metre", "7/0"], "is not a time signature"),
    (["--style", "chorale"], "--style chorale: "),
    (["--temperature", "0"], "expected a number in 0.0001..100"),
    (["extra"], "compose takes no positional arguments"),
])
def test_bad_folk_input_is_one_clear_error(folk, args, message):
    runner, root = folk
    with pytest.raises(UserError, match=re.escape(message)):
        runner.main(["--model-dir", str(root / "model"), *args])


@pytest.mark.parametrize("args, message", [
    (["--primer", "A0"], "A0 is outside the chorales' range"),
    (["--primer", "C3+E4+G4+C9"], "C9 is outside the piano's 88 keys"),
    (["--top-p", "0.9"], "--top-p applies to folk melodies only"),
    (["--key", "G"], "--key applies to folk melodies only"),
    (["--metre", "5/16"], "is not a whole number of frames"),
    (["--metre", "32/4", "--length", "64"], "--length 64 bars of --metre 32/4 take 4096 eighth-note frames"),
])
def test_bad_chorale_input_is_one_clear_error(chorale, args, message):
    runner, root = chorale
    with pytest.raises(UserError, match=re.escape(message)):
        runner.main(["--model-dir", str(root / "model"), *args])


@pytest.mark.parametrize("renamed, args, message", [
    # A model whose tunes name no mode: a primer's key is left to the model.
    ({"<mode:major>": "<mode:?>"}, ["--primer", "C4 D4 E4", "--length", "1"], None),
    ({"<mode:major>": "<mode:?>"}, ["--key", "C major"], "the model knows the modes none"),
    # ... nor a metre: nothing to write a primer's bar lines in.
    ({"<metre:4/4>": "<metre:?>"}, ["--primer", "C4 D4 E4"], "knows no time signature"),
])
def test_a_model_that_knows_no_metre_or_mode_composes_or_says_why_not(folk, tmp_path, capsys, renamed, args,
                                                                      message):
    import shutil

    from datasets.vocabulary_files import load_vocabulary, save_vocabulary

    runner, root = folk
    shutil.copytree(root / "model", tmp_path / "model")
    path = tmp_path / "model" / "tokens_vocabulary.txt"
    save_vocabulary([renamed.get(t, t) for t in load_vocabulary(path)], path)  # the SavedModel's stays as it was
    if message is None:
        piece = compose(runner, tmp_path / "model", capsys, *args)
        assert piece["text"].startswith("<metre:4/4> C4:1/2")
    else:
        with pytest.raises(UserError, match=re.escape(message)):
            runner.main(["--model-dir", str(tmp_path / "model"), *args])


def test_a_primer_that_is_not_midi_is_one_clear_error(folk, tmp_path):
    runner, root = folk
    (tmp_path / "notes.mid").write_text("C4 E4 G4")
    with pytest.raises(UserError, match=re.escape("notes.mid is not a standard MIDI file")):
        runner.main(["--model-dir", str(root / "model"), "--primer", str(tmp_path / "notes.mid")])
    (tmp_path / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(UserError, match="broken.mid is not a readable MIDI file"):
        runner.main(["--model-dir", str(root / "model"), "--primer", str(tmp_path / "broken.mid")])


def test_a_midi_primer_is_continued(folk, capsys, tmp_path):
    runner, root = folk
    _melody_file(tmp_path / "primer.mid", bars=1)
    timed, metre, tonality = read_midi(str(tmp_path / "primer.mid"))
    assert metre == "4/4" and tonality == "C major" and len(timed) == 8
    piece = compose(runner, root / "model", capsys, "--primer", str(tmp_path / "primer.mid"), "--top-k", "1",
                    "--length", "1")
    assert [row[0] for row in piece["timed_notes"]][:16] == [PERIOD[i % 4] for i in range(16)]


def test_wav_rendering_or_a_clear_line_on_how_to_install(folk, capsys, tmp_path, monkeypatch):
    import shutil

    runner, root = folk
    if shutil.which("fluidsynth") and Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").is_file():
        compose(runner, root / "model", capsys, "--length", "1", "--wav", str(tmp_path / "a.wav"))
        assert (tmp_path / "a.wav").read_bytes()[:4] == b"RIFF"
    monkeypatch.setenv("PATH", str(tmp_path))  # no fluidsynth on this PATH
    with pytest.raises(UserError, match=re.escape("sudo apt-get install fluidsynth fluid-soundfont-gm")):
        runner.main(["--model-dir", str(root / "model"), "--wav", str(tmp_path / "b.wav")])
    assert not (tmp_path / "b.wav").exists()


def test_a_missing_shipped_model_is_one_line_with_exit_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MusicTask, "shipped_dir", tmp_path)  # an installation that lost its models
    assert Runner(MusicTask()).run(["--style", "chorale"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and err.startswith("error: model directory")


@pytest.mark.parametrize("style", ["folk", "chorale"])
def test_the_shipped_models_compose(style, capsys, tmp_path):
    name = {"folk": "folk-lstm", "chorale": "chorale-lstm"}[style]
    assert (SHIPPED / name / "config.json").is_file(), f"saved_models/music/{name} is shipped: it must be there"
    runner = Runner(MusicTask())
    assert runner.main(["--style", style, "--seed", "1", "--length", "4", "--json", "--out",
                        str(tmp_path / "piece.mid")]) == 0
    piece = json.loads(capsys.readouterr().out)
    timed = np.array(piece["timed_notes"], float)
    assert len(timed) > 4 and (timed[:, 2] > 0).all() and piece["parts"] == (1 if style == "folk" else 4)
    from music21 import converter

    assert len(converter.parse(str(tmp_path / "piece.mid")).parts) == piece["parts"]


def test_files_that_cannot_be_written_lose_nothing_printed(folk, tmp_path, monkeypatch, capsys):
    from tests.helpers import assert_output_failures_reported, full_disk

    runner, root = folk
    full_disk(monkeypatch)
    paths = [str(tmp_path / "a.mid"), str(tmp_path / "a.png")]
    status = runner.run(["--model-dir", str(root / "model"), "--seed", "5", "--length", "2", "--json",
                         "--out", paths[0], "--roll", paths[1]])
    out, err = capsys.readouterr()
    assert json.loads(out)["timed_notes"]  # the piece itself is printed, and the other file is still tried
    assert_output_failures_reported(status, err, paths)


def test_a_file_that_is_not_a_soundfont_is_refused_before_any_work(tmp_path):
    from apps.music.midi import AudioUnavailable, find_soundfont

    (tmp_path / "notes.sf2").write_text("not a soundfont")
    with pytest.raises(AudioUnavailable, match="notes.sf2: not a SoundFont"):
        find_soundfont(str(tmp_path / "notes.sf2"))
    (tmp_path / "real.sf2").write_bytes(b"RIFF\x00\x00\x00\x00sfbkLIST")
    assert find_soundfont(str(tmp_path / "real.sf2")) == str(tmp_path / "real.sf2")


def _fake_fluidsynth(folder):
    """A `fluidsynth` that writes a small WAV where `-F` says, and a file that is a SoundFont by its header."""
    program = folder / "bin" / "fluidsynth"
    program.parent.mkdir()
    program.write_text('#!/bin/sh\nwhile [ "$1" != "-F" ]; do shift; done\nprintf "RIFF\\0\\0\\0\\0WAVE" > "$2"\n')
    program.chmod(0o755)
    soundfont = folder / "font.sf2"
    soundfont.write_bytes(b"RIFF\0\0\0\0sfbk")
    return program.parent, soundfont


def test_a_wav_that_cannot_be_written_costs_neither_the_piece_nor_the_midi(folk, capsys, tmp_path, monkeypatch):
    import os

    from tests.helpers import assert_output_failures_reported, full_disk

    runner, root = folk
    programs, soundfont = _fake_fluidsynth(tmp_path)
    monkeypatch.setenv("PATH", f"{programs}{os.pathsep}{os.environ['PATH']}")
    wav = tmp_path / "a.wav"
    compose(runner, root / "model", capsys, "--length", "1", "--wav", str(wav), "--soundfont", str(soundfont))
    assert wav.read_bytes()[:4] == b"RIFF"  # the fake renders: the path through write_file works
    full_disk(monkeypatch)
    status = runner.main(["--model-dir", str(root / "model"), "--json", "--length", "1", "--wav",
                          str(tmp_path / "b.wav"), "--soundfont", str(soundfont)])
    out, err = capsys.readouterr()
    assert json.loads(out)["timed_notes"]  # the piece is printed before the file fails
    assert_output_failures_reported(status, err, [str(tmp_path / "b.wav")])
