"""A recurrent forecaster of a dynamical system: our GRU or LSTM cells, predicting the next state's increment.

One step, `ForecastCell`, with x_t (B, D) the state observed at step t:

    x~_t    = x_t if observed, else x^_t            an unobserved (NaN) input is the model's own forecast
    u_t     = (x~_t - mu) / sigma                   standardised state
    h^1_t   = Cell_1(u_t, h^1_{t-1})                first recurrent layer, (B, H)
    h^l_t   = Cell_l(h^{l-1}_t, h^l_{t-1})          layers 2..N
    x^_{t+1} = x~_t + s * (W h^N_t + b)             the next state: an increment, scaled per variable

mu and sigma are the training states' mean and standard deviation, s the standard deviation of
the training increments x_{t+1} - x_t; all three are constructor arguments, so a model's config
carries them. The head predicts the increment, not the state: sampled finely, a flow moves little
per step (s is 0.1 to 0.2 of sigma for Lorenz-63 at dt 0.02), so a network asked for
the state must reproduce x_t almost exactly to be right at all, and its error is dominated by
that copy; asked for the increment, in units of s, its whole output range goes to the change
(an Euler-like residual step). Trained on the squared error of the increment in units of s
(`increment_loss`).

`keras.layers.RNN(ForecastCell)` runs the steps: over an observed window every input is observed
(teacher forcing: each step predicts the next state from the true past), and past the window the
inputs are NaN, so each step feeds back the previous prediction (closed loop). A forecast is thus
one pass of one compiled loop: the window is read once to warm the state up, then the state is
carried step to step while the model runs free. Training windows may end in NaN steps too, so the
model also learns from its own closed-loop errors (`train --rollout`).

Shapes: B batch, T steps, D variables, H units, W window, K forecast steps.
Everything is `keras.ops`, so the model runs on any Keras backend.
"""

import keras
from keras import ops

from apps.common import training
from layers import GRUCell, LSTMCell

CELLS = {"gru": GRUCell, "lstm": LSTMCell}


@keras.saving.register_keras_serializable(package="seqmodels.dynamics")
class ForecastCell(keras.layers.Layer):
    """One step of the forecaster (module docstring), for `keras.layers.RNN`.

    Args:
        mean, std, step_std: lists of D floats: mu, sigma and s.
        units: int, H, per recurrent layer.
        num_layers: int, N >= 1.
        cell: "gru" or "lstm".

    Call arguments:
        inputs: (B, D) the state at step t; NaN where not observed.
        states: [x^_t (B, D), then each layer's states (B, H): h for a GRU, h and c for an LSTM].

    Returns:
        (x^_{t+1}, new states), x^_{t+1} of shape (B, D).
    """

    def __init__(self, mean, std, step_std, units, num_layers, cell, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std, self.step_std = [float(v) for v in mean], [float(v) for v in std], [
            float(v) for v in step_std]
        self.units, self.num_layers, self.cell_name = units, num_layers, cell
        self.dimension = len(self.mean)
        # Made here, not in `build`: `keras.layers.RNN` reads `state_size`, which the cells give.
        self.cells = [CELLS[cell](units, name=f"{cell}_{index}") for index in range(num_layers)]
        self.head = keras.layers.Dense(self.dimension, name="increment")
        self.layer_state_counts = [len(c.state_size) if isinstance(c.state_size, list) else 1 for c in self.cells]
        self.state_size = [self.dimension] + [units] * sum(self.layer_state_counts)
        self.output_size = self.dimension

    def build(self, input_shape):
        width = self.dimension
        for cell in self.cells:
            cell.build((None, width))
            width = self.units
        self.head.build((None, self.units))

    def call(self, inputs, states, training=None):
        previous_prediction, layer_states = states[0], list(states[1:])
        x = ops.where(ops.isnan(inputs), previous_prediction, inputs)  # x~_t
        h = (x - ops.convert_to_tensor(self.mean)) / ops.convert_to_tensor(self.std)  # u_t
        new_states, start = [], 0
        for cell, count in zip(self.cells, self.layer_state_counts, strict=True):
            h, cell_states = cell(h, layer_states[start : start + count], training=training)
            new_states.extend(cell_states)
            start += count
        prediction = x + ops.convert_to_tensor(self.step_std) * self.head(h)  # x^_{t+1}
        return prediction, [prediction, *new_states]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std, "step_std": self.step_std,
                "units": self.units, "num_layers": self.num_layers, "cell": self.cell_name}


@keras.saving.register_keras_serializable(package="seqmodels.dynamics")
class DynamicsForecaster(keras.Model):
    """x^_{t+1} for every step of a series, teacher-forced where observed, closed-loop where NaN.

    Args:
        mean, std, step_std: lists of D floats: the training states' mean and standard deviation,
            and the standard deviation of their one-step increments.
        units: int, H, per recurrent layer. Defaults to 128.
        num_layers: int, N >= 1. Defaults to 1.
        cell: "gru" or "lstm" (our `layers.GRUCell`, `layers.LSTMCell`). Defaults to "gru".

    Call arguments:
        series: (B, T, D) float states, NaN where not observed (the first step must be observed).

    Returns:
        (B, T, D): at position t, the predicted state of step t + 1.

    Example:
        >>> model = DynamicsForecaster([0.0, 0.0], [1.0, 1.0], [0.1, 0.1], units=16)
        >>> window = np.zeros((4, 50, 2), "float32")
        >>> model.forecast(window, 200).shape                   # (B, K, D)
        TensorShape([4, 200, 2])
    """

    def __init__(self, mean, std, step_std, units=128, num_layers=1, cell="gru", **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        if not len(mean) == len(std) == len(step_std) or not len(mean):
            raise ValueError(f"mean, std and step_std need one value per variable, got {len(mean)}, {len(std)} "
                             f"and {len(step_std)}")
        if min(std) <= 0 or min(step_std) <= 0:
            raise ValueError(f"std and step_std must be positive, got {list(std)} and {list(step_std)}")
        self.units, self.num_layers, self.cell_name = units, num_layers, cell
        self.step_cell = ForecastCell(mean, std, step_std, units, num_layers, cell, name="step")
        self.rnn = keras.layers.RNN(self.step_cell, return_sequences=True, name="forecaster")

    @property
    def dimension(self):
        return self.step_cell.dimension

    def call(self, series, training=None):
        return self.rnn(series, training=training)

    def forecast(self, window, horizon):
        """The K = `horizon` states after an observed window: warm-up, then a closed loop, in one pass.

        Args:
            window: (B, W, D) observed states, W >= 1.
            horizon: int or scalar int tensor, K >= 1.

        Returns:
            (B, K, D), the forecast of steps W + 1 .. W + K.
        """
        batch, steps = ops.shape(window)[0], ops.shape(window)[1]
        unobserved = ops.full((batch, horizon - 1, self.dimension), float("nan"), dtype=window.dtype)
        predictions = self(ops.concatenate([window, unobserved], axis=1), training=False)  # (B, W + K - 1, D)
        return predictions[:, steps - 1 :]

    def get_config(self):
        cell = self.step_cell
        return {**super().get_config(), "mean": cell.mean, "std": cell.std, "step_std": cell.step_std,
                "units": self.units, "num_layers": self.num_layers, "cell": self.cell_name}


def increment_loss(step_std):
    """The training loss: mean over B, T, D of ((x^_{t+1} - x_{t+1}) / s)^2.

    Where the input was observed, x^_{t+1} - x_{t+1} = s * (predicted - true normalised
    increment), so this is the squared error of the increment in units of s; after closed-loop
    steps it also counts the error carried from the model's own earlier predictions.
    """
    scale = ops.convert_to_tensor([float(v) for v in step_std])

    def loss(y_true, y_pred):
        return training.batch_mean(ops.square((y_pred - y_true) / scale))  # over every replica's windows

    return loss
