"""The dynamics app: the solver, the metrics, the baselines, a tiny forecaster, export, gradients, bad input."""

import json
import math
import re

import keras
import numpy as np
import pytest

from apps.common.cli import UserError
from apps.common.model_directory import ModelDirectory
from apps.common.runner import Runner
from apps.dynamics import baselines, gradients, metrics
from apps.dynamics.systems import SYSTEMS, Flow
from apps.dynamics.task import MAX_STEPS, DynamicsTask
from datasets.errors import DataError
from tests.helpers import run_saved_model_without_project_code

PERIOD = 50  # steps per turn of the toy rotation


def rotation(steps, start=0):
    """(steps, 2): sin and cos of a phase that turns once every PERIOD steps."""
    phase = 2 * np.pi * np.arange(start, start + steps) / PERIOD
    return np.stack([np.sin(phase), np.cos(phase)], axis=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("dynamics")
    np.savetxt(root / "rotation.csv", rotation(2000), delimiter=",", header="s,c", comments="")
    runner = Runner(DynamicsTask())
    keras.utils.set_random_seed(0)
    assert runner.main(["train", "--data", str(root / "rotation.csv"), "--model", "gru", "--size", "tiny",
                        "--window", "20", "--stride", "3", "--epochs", "12", "--learning-rate", "0.01",
                        "--batch-size", "32", "--out", str(root / "model")]) == 0
    return runner, root


LORENZ_DATA = ["--trajectories", "4", "--trajectory-steps", "300"]  # the tiny Lorenz model's data, and eval's


@pytest.fixture(scope="module")
def lorenz_model(tmp_path_factory):
    """A tiny GRU trained for one epoch on Lorenz-63, teacher-forced, then fine-tuned with --rollout."""
    root = tmp_path_factory.mktemp("lorenz")
    runner = Runner(DynamicsTask())
    keras.utils.set_random_seed(0)
    common = ["--system", "lorenz", *LORENZ_DATA, "--window", "20", "--model", "gru", "--size", "tiny",
              "--epochs", "1", "--batch-size", "32"]
    assert runner.main(["train", *common, "--out", str(root / "forced")]) == 0
    assert runner.main(["train", *common, "--rollout", "5", "--init-from", str(root / "forced"),
                        "--out", str(root / "model")]) == 0
    return runner, root / "model"


def forecast_json(runner, model_dir, capsys, *args):
    assert runner.main(["--model-dir", str(model_dir), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


# --- the solver and the systems ------------------------------------------------------------------


class HarmonicOscillator(Flow):
    """x'' = -x, sampled every 0.5: from (1, 0), x(t) = cos t and v(t) = -sin t."""

    name, title, variables = "oscillator", "harmonic oscillator", ("x", "v")
    dt = 0.5

    def vector_field(self, state):
        return np.stack([state[..., 1], -state[..., 0]], axis=-1)


def test_sampled_flows_follow_the_harmonic_oscillator_with_fourth_order_error():
    errors, times = [], 0.5 * np.arange(21)  # samples up to t = 10
    for substeps in (5, 10, 20):  # RK4 steps of 0.1, 0.05, 0.025 between two samples
        oscillator = HarmonicOscillator()
        oscillator.substeps = substeps
        states = oscillator.trajectory(np.array([[1.0, 0.0]]), len(times))[0]
        errors.append(np.abs(states - np.stack([np.cos(times), -np.sin(times)], axis=1)).max())
    assert errors[1] < 1e-6
    for coarse, fine in zip(errors, errors[1:], strict=False):
        assert 14 < coarse / fine < 18  # halving h divides the error by 2^4


def test_the_systems_keep_their_known_invariants():
    lorenz = SYSTEMS["lorenz"]
    states = lorenz.trajectory(lorenz.initial_conditions(16, seed=5), 2000)
    assert states.shape == (16, 2000, 3) and np.all(np.isfinite(states))
    assert 22.5 < states[..., 2].mean() < 24.5  # the attractor's mean z, about 23.5

    predator_prey = SYSTEMS["lotka-volterra"]
    x, y = np.moveaxis(predator_prey.trajectory(predator_prey.initial_conditions(4, seed=5), 1000), -1, 0)
    a, b, c, d = predator_prey.alpha, predator_prey.beta, predator_prey.gamma, predator_prey.delta
    conserved = d * x - c * np.log(x) + b * y - a * np.log(y)  # constant along every orbit
    assert np.abs(conserved - conserved[:, :1]).max() < 1e-7

    henon = SYSTEMS["henon"]
    states = henon.trajectory(henon.initial_conditions(64, seed=5), 500)
    assert np.all(np.abs(states[..., 0]) < 1.3) and np.all(np.abs(states[..., 1]) < 0.4)
    x, y = states[:, :-1, 0], states[:, :-1, 1]
    np.testing.assert_allclose(states[:, 1:, 0], 1 - 1.4 * x**2 + y)


# --- metrics -------------------------------------------------------------------------------------


def test_valid_prediction_time_on_hand_made_series():
    truth = np.zeros((4, 6, 2))
    forecast = truth.copy()
    forecast[0, 2:, 0] = 1.0  # error 1 / scale 2 = 0.5 > 0.4 from step 3: two valid steps
    forecast[1, :, 1] = 0.8  # exactly 0.4 everywhere: not above the threshold, valid to the end
    forecast[2, 4, 0] = np.nan  # not finite at step 5: wrong there
    forecast[3, 0, :] = [0.6, 0.6]  # sqrt(0.72) / 2 = 0.42 at the first step: never valid
    steps = metrics.valid_prediction_steps(forecast, truth, scale=2.0)
    assert steps.tolist() == [2, 6, 4, 0]
    assert metrics.lyapunov_times(100, 0.02, 0.9056) == pytest.approx(1.8112)
    assert metrics.error_scale(np.array([[3.0, 4.0], [0.0, 0.0]])) == pytest.approx(np.sqrt(12.5))


def test_wasserstein_distance_by_hand():
    assert metrics.wasserstein_distance([0.0, 1.0], [0.0, 2.0]) == pytest.approx(0.5)
    assert metrics.wasserstein_distance([0.0], [0.0, 1.0]) == pytest.approx(0.5)
    sample = np.random.default_rng(0).normal(size=500)
    assert metrics.wasserstein_distance(sample, sample + 3.0) == pytest.approx(3.0)
    distances = metrics.long_run_distances(np.full((10, 2), np.inf), np.zeros((10, 2)), ["x", "y"])
    assert distances == {"x": None, "y": None}
    runs = [np.zeros((10, 1)), np.ones((10, 1)), np.full((10, 1), 3.0)]
    assert metrics.long_run_spread(runs, np.zeros((10, 1)), ["x"]) == {"x": {"median": 1.0, "min": 0.0, "max": 3.0}}
    assert metrics.long_run_spread([*runs, np.full((10, 1), np.nan)], np.zeros((10, 1)), ["x"]) == {"x": None}


# --- baselines -----------------------------------------------------------------------------------


def test_linear_autoregression_recovers_an_affine_system():
    angle = 2 * np.pi / 37
    A = 0.999 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    offset = np.array([3.0, -1.0])  # x_{t+1} = A x_t + offset: the bias feature must carry it
    states = [np.array([5.0, 1.0])]
    for _ in range(600):
        states.append(A @ states[-1] + offset)
    states = np.array(states)
    model = baselines.LinearAutoregression(order=2, beta=1e-10).fit([states[:400]])
    forecast = model.forecast(states[None, 350:400], 200)[0]
    np.testing.assert_allclose(forecast, states[400:600], atol=1e-6)


def test_echo_state_network_beats_persistence_on_lorenz():
    lorenz = SYSTEMS["lorenz"]
    train = lorenz.trajectory(lorenz.initial_conditions(8, seed=1), 1000)
    test = lorenz.trajectory(lorenz.initial_conditions(20, seed=3), 400)
    scale = metrics.error_scale(test)
    window, truth = test[:, :100], test[:, 100:]
    esn = baselines.EchoStateNetwork(units=300).fit(train)
    esn_steps = metrics.valid_prediction_steps(esn.forecast(window, 300), truth, scale)
    persistence_steps = metrics.valid_prediction_steps(baselines.Persistence().forecast(window, 300), truth, scale)
    assert np.median(esn_steps) > 5 * max(np.median(persistence_steps), 1)
    assert np.median(esn_steps) * lorenz.dt * lorenz.lyapunov_exponent > 2  # Lyapunov times


def test_the_echo_state_network_fits_the_same_in_chunks(monkeypatch):
    henon = SYSTEMS["henon"]
    train = henon.trajectory(henon.initial_conditions(5, seed=1), 300)
    whole = baselines.EchoStateNetwork(units=40).fit(train).readout
    monkeypatch.setattr(baselines, "FIT_CHUNK_STATES", 2 * 300 * 40)  # two trajectories at a time: 2 + 2 + 1
    np.testing.assert_allclose(baselines.EchoStateNetwork(units=40).fit(train).readout, whole, rtol=1e-6, atol=1e-9)


# --- the model -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_the_forecast_is_one_pass_that_equals_feeding_predictions_back(cell):
    from apps.dynamics.model import DynamicsForecaster

    model = DynamicsForecaster([1.0, -2.0, 0.5], [2.0, 1.0, 3.0], [0.2, 0.1, 0.3], units=8, num_layers=2, cell=cell)
    window = np.random.default_rng(0).normal(size=(3, 7, 3)).astype("float32")
    forecast = np.asarray(model.forecast(window, 5))
    series = window
    for step in range(5):  # re-read everything at every step: what the carried state spares
        following = np.asarray(model(series))[:, -1]
        np.testing.assert_allclose(forecast[:, step], following, rtol=1e-5, atol=1e-5)
        series = np.concatenate([series, following[:, None]], axis=1)


def test_a_tiny_model_learns_a_rotation_and_continues_it(trained, tmp_path, capsys):
    runner, root = trained
    np.savetxt(tmp_path / "observed.csv", rotation(137), delimiter=",")  # no header this time
    result = forecast_json(runner, root / "model", capsys, "--observations", str(tmp_path / "observed.csv"),
                           "--steps", "100", "--csv", str(tmp_path / "forecast.csv"), "--plot", str(tmp_path / "f.png"))
    assert result["variables"] == ["s", "c"] and result["window"] == 20
    forecast = np.array(result["forecast"])
    assert np.abs(forecast - rotation(100, start=137)).max() < 0.1  # two turns ahead, amplitude 1
    np.testing.assert_allclose(np.loadtxt(tmp_path / "forecast.csv", delimiter=",", skiprows=1), forecast, atol=1e-9)
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_eval_reports_the_model_next_to_the_baselines(trained, capsys, tmp_path):
    runner, root = trained
    assert runner.main(["eval", "--model-dir", str(root / "model"), "--data", str(root / "rotation.csv"),
                        "--horizon", "100", "--conditions", "20", "--long-run", "500", "--json",
                        "--plot", str(tmp_path / "h.png")]) == 0
    result = json.loads(capsys.readouterr().out)
    valid = result["valid_prediction_time"]
    assert set(valid) == {"model (gru)", "persistence", "linear-ar", "esn"} and result["conditions"] == 20
    assert valid["model (gru)"]["steps"]["median"] == 100  # valid to the horizon
    assert valid["persistence"]["steps"]["median"] < 10  # 0.4 of a unit circle: about 3 steps of the turn
    distances = result["long_run"]["wasserstein"]
    assert result["long_run"]["starts"] == 5
    assert distances["model (gru)"]["s"]["max"] < min(0.2, distances["persistence"]["s"]["min"] / 4)  # on the circle
    assert distances["linear-ar"]["s"]["max"] < 0.01  # a rotation is linear: exact
    spread = distances["persistence"]["s"]  # persistence stays where each start is: five different points
    assert spread["min"] < spread["median"] < spread["max"]
    assert (tmp_path / "h.png").stat().st_size > 10_000


def test_export_runs_without_our_code_and_gives_the_same_forecast(trained, tmp_path, capsys):
    runner, root = trained
    np.savetxt(tmp_path / "observed.csv", rotation(20, start=11), delimiter=",")
    expected = forecast_json(runner, root / "model", capsys, "--observations", str(tmp_path / "observed.csv"),
                             "--steps", "30")["forecast"]
    model = runner.load_model(ModelDirectory(root / "model"))
    in_process = np.asarray(model.forecast(rotation(20, start=11)[None].astype("float32"), 30))[0]
    np.testing.assert_allclose(in_process, expected, atol=1e-5)

    assert runner.main(["export", "--model-dir", str(root / "model"), "--out", str(tmp_path / "exported")]) == 0
    script = """
        window = tf.constant([json.loads(sys.argv[2])], tf.float32)
        out = loaded.signatures["serving_default"](window=window, horizon=tf.constant(30))
        print(json.dumps(out["forecast"].numpy()[0].tolist()))
    """
    reloaded = run_saved_model_without_project_code(script, tmp_path / "exported",
                                                    json.dumps(rotation(20, start=11).tolist()))
    np.testing.assert_allclose(reloaded, expected, atol=1e-5)

    import tensorflow as tf

    serve = tf.saved_model.load(str(tmp_path / "exported")).signatures["serving_default"]
    window = tf.constant(rotation(20)[None], tf.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"horizon must be at most {MAX_STEPS}"):
        serve(window=window, horizon=tf.constant(MAX_STEPS + 1))


# --- a simulated system ----------------------------------------------------------------------------


def test_training_with_rollout_fine_tunes_on_closed_loop_steps(lorenz_model):
    _, model_dir = lorenz_model
    training = ModelDirectory(model_dir).config()["training"]
    assert training["rollout"] == 5 and training["system"] == "lorenz"
    assert math.isfinite(training["final_validation_loss"])  # the NaN inputs were fed back, not learned from


def test_held_out_initial_conditions_are_not_the_training_ones():
    task = DynamicsTask()
    args = Runner(task).build_parser().parse_args(["eval", "--system", "lorenz", *LORENZ_DATA, "--conditions", "6"])
    training_states = np.concatenate(task.trajectories(args, "train"))  # (4 * 300, 3)
    for split in ("validation", "test"):
        starts = np.stack([trajectory[0] for trajectory in task.trajectories(args, split)])
        nearest = np.linalg.norm(starts[:, None] - training_states[None], axis=-1).min()
        assert nearest > 1e-3, split  # no held-out trajectory runs along a training one


def test_eval_on_a_simulated_system_in_lyapunov_times(lorenz_model, capsys):
    runner, model_dir = lorenz_model
    base = ["eval", "--model-dir", str(model_dir), *LORENZ_DATA, "--horizon", "50", "--long-run", "200"]
    assert runner.main([*base, "--conditions", "6", "--json"]) == 0  # no --system: the model's
    result = json.loads(capsys.readouterr().out)
    assert result["data"] == "lorenz" and result["conditions"] == 6
    assert result["error_scale"] == pytest.approx(metrics.error_scale(SYSTEMS["lorenz"].reference_states), abs=1e-4)
    for valid in result["valid_prediction_time"].values():
        assert valid["lyapunov_times"]["median"] == pytest.approx(valid["steps"]["median"] * 0.02 * 0.9056)

    # The validation split has 4 trajectories: 10 conditions are 3 windows from each, cut to 10.
    assert runner.main([*base, "--split", "validation", "--conditions", "10", "--no-baselines"]) == 0
    out = capsys.readouterr().out
    assert "valid prediction time in Lyapunov times, median [25%-75%] over 10 conditions" in out


def test_forecast_of_a_simulated_system_uses_the_system_scale(lorenz_model, capsys):
    runner, model_dir = lorenz_model
    short = forecast_json(runner, model_dir, capsys, "--steps", "30")
    result = forecast_json(runner, model_dir, capsys, "--steps", "60", "--noise", "0.01")
    assert result["source"] == "lorenz" and np.array(result["forecast"]).shape == (60, 3)
    np.testing.assert_allclose(np.array(result["truth"])[:30], short["truth"])  # the same held-out condition
    assert result["error_scale"] == short["error_scale"] == round(
        metrics.error_scale(SYSTEMS["lorenz"].reference_states), 4)  # not the continuation's own
    steps = result["valid_prediction_steps"]
    assert result["valid_prediction_lyapunov_times"] == pytest.approx(steps * 0.02 * 0.9056, abs=1e-3)


def test_a_baseline_that_cannot_be_fitted_is_one_clear_line(lorenz_model, capsys):
    runner, model_dir = lorenz_model
    status = runner.run(["eval", "--model-dir", str(model_dir), "--trajectories", "4", "--trajectory-steps", "100",
                         "--horizon", "20", "--conditions", "4"])
    last = capsys.readouterr().err.splitlines()[-1]  # after the progress lines "fitting persistence ..."
    assert status == 2 and last.startswith(
        "error: esn cannot be fitted on lorenz: trajectories of 100 steps are too short for a washout of 100"), last


# --- the gradients experiment --------------------------------------------------------------------


def test_the_gradient_measurement_is_exact_for_a_linear_recurrence():
    # h_t = x_t W + 0.8 h_{t-1}: dL/dh_t = 0.8^(T-1-t) dL/dh_{T-1} exactly.
    cell = keras.layers.SimpleRNNCell(4, activation=None, use_bias=False,
                                      recurrent_initializer=keras.initializers.Identity(gain=0.8))
    model = gradients.build_model(cell)
    inputs, targets = gradients.recall_batch(8, 13, np.random.default_rng(0), gap=12)
    norms = gradients.state_gradient_norms(model, inputs, targets)[::-1]  # by distance from the end
    np.testing.assert_allclose(norms / norms[0], 0.8 ** np.arange(13), rtol=1e-4)


def test_the_tanh_rnn_gradient_vanishes_with_distance():
    model = gradients.build_model(gradients.make_cell("tanh-rnn", 16, seed=0), seed=0)
    inputs, targets = gradients.recall_batch(64, 41, np.random.default_rng(0), gap=40)
    norms = gradients.state_gradient_norms(model, inputs, targets)[::-1]
    assert np.all(norms > 0)  # the gradient reaches the first step ...
    assert norms[40] < 0.05 * norms[0]  # ... but 40 steps back it is almost gone
    assert np.all(norms[10:] < norms[0])


def test_clipping_keeps_an_exploding_tanh_rnn_trainable():
    demo = gradients.clipping_demo(steps=15)
    assert demo["first_gradient_norm"] > 50
    assert not np.isfinite(demo["without"][-1]) or demo["without"][-1] > 10 * demo["without"][0]
    assert demo["with"][-1] < demo["with"][0]


def test_the_gradients_command_prints_a_table_and_draws(tmp_path, capsys):
    runner = Runner(DynamicsTask())
    assert runner.main(["gradients", "--quick", "--plot", str(tmp_path / "g.png")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  gap +4 +16$", out, re.M)
    for cell in gradients.CELLS:
        assert re.search(rf"^  {cell} +[01]\.\d{{3}} +[01]\.\d{{3}}$", out, re.M)
    assert (tmp_path / "g.png").stat().st_size > 10_000


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, message",
    [
        ("s,c\n0.1,0.2\n0.3,\n", "observed.csv:3: expected a value in column 'c', got an empty cell"),
        ("s,c\n0.1,0.2\nNA,0.3\n", "observed.csv:3: expected a value in column 's', got 'NA'"),
        ("s,c\n0.1,abc\n", "observed.csv:2: expected a finite number in column 'c', got 'abc'"),
        ("s,c\n0.1,0.2\n0.3\n", "observed.csv:3: expected 2 columns like the first row, got 1"),
        ("0.1\n0.2\n", "observed.csv has 1 column, but the model forecasts 2 variables (s, c)"),
        ("0.1,0.2\n" * 5, "observed.csv has 5 rows, fewer than the model's window of 20 steps"),
        ("", "observed.csv is empty"),
    ],
)
def test_a_bad_csv_is_one_clear_line(trained, tmp_path, capsys, rows, message):
    runner, root = trained
    (tmp_path / "observed.csv").write_text(rows, encoding="utf-8")
    status = runner.run(["--model-dir", str(root / "model"), "--observations", str(tmp_path / "observed.csv")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--steps", "1000000"], "expected an integer in 1..100000, got 1000000"),
        (["--steps", "0"], "expected an integer in 1..100000, got 0"),
        (["--system", "lorenz"], "trained on a series of your own"),
        (["--noise", "2"], "expected a fraction in [0, 1), got 2.0"),
        (["1.0"], "forecast takes no inputs as arguments"),
        (["--observations", "x.csv", "--noise", "0.01"], "--noise 0.01 adds noise to a simulated window"),
    ],
)
def test_absurd_options_are_one_clear_line(trained, capsys, args, message):
    runner, root = trained
    status = runner.run(["--model-dir", str(root / "model"), *args])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("command", ["train", "eval"])
def test_system_and_data_together_are_one_clear_line(command, capsys):
    for options in (["--system", "henon", "--data", "x.csv"], ["--data", "x.csv", "--system", "lorenz"]):
        status = Runner(DynamicsTask()).run([command, *options])
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1 and "not allowed with" in err, err


def test_forecast_help_shows_no_inputs(capsys):
    with pytest.raises(SystemExit):
        Runner(DynamicsTask()).main(["forecast", "--help"])
    out = capsys.readouterr().out
    assert "unused" not in out and "inputs" not in out and "--observations" in out


def test_training_data_that_cannot_be_used_is_one_clear_error(tmp_path):
    runner = Runner(DynamicsTask())
    (tmp_path / "short.csv").write_text("1,2\n2,3\n3,4\n", encoding="utf-8")
    with pytest.raises(UserError, match=re.escape("the train split has 2 steps, fewer than a training window of 101")):
        runner.main(["train", "--data", str(tmp_path / "short.csv"), "--out", str(tmp_path / "m")])
    with pytest.raises(DataError, match="no such file"):
        runner.main(["train", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "m")])
    with pytest.raises(UserError, match="has no `pack`: the portable trainer packs token ids"):
        runner.main(["pack", "--system", "henon", "--trajectories", "4", "--trajectory-steps", "200",
                     "--window", "10", "--out", str(tmp_path / "packed")])


def test_the_valid_time_line_counts_iterations_of_a_map_and_time_units_of_a_flow():
    from apps.dynamics.task import DynamicsTask

    line = DynamicsTask()._validity_line
    common = {"valid_prediction_steps": 12, "censored": False, "threshold": 0.4}
    henon = line({**common, "dt": 1, "valid_prediction_lyapunov_times": 5.03})
    assert "12 iterations = 5.03 Lyapunov times" in henon and "time units" not in henon
    assert "12 steps = 0.24 time units" in line({**common, "dt": 0.02})


def test_files_that_cannot_be_written_lose_no_forecast_and_no_figure(trained, tmp_path, monkeypatch, capsys):
    from tests.helpers import assert_output_failures_reported, full_disk

    runner, root = trained
    np.savetxt(tmp_path / "observed.csv", rotation(137), delimiter=",")
    full_disk(monkeypatch)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status = runner.run(["--model-dir", str(root / "model"), "--json", "--observations", str(tmp_path / "observed.csv"),
                         "--steps", "10", "--csv", str(out_dir / "f.csv"), "--plot", str(out_dir / "f.png")])
    out, err = capsys.readouterr()
    assert len(json.loads(out)["forecast"]) == 10
    assert_output_failures_reported(status, err, [str(out_dir / "f.csv")])  # the first failure ends the command
    status = runner.run(["eval", "--model-dir", str(root / "model"), "--data", str(root / "rotation.csv"),
                         "--horizon", "20", "--conditions", "4", "--long-run", "100", "--json",
                         "--plot", str(out_dir / "h.png")])
    out, err = capsys.readouterr()
    assert "valid_prediction_time" in json.loads(out), err
    assert_output_failures_reported(status, err, [str(out_dir / "h.png")])
