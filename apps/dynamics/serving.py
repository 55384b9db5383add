"""The forecaster's SavedModel: an observed window and a horizon in, the forecast out, the loop in the graph.

    serving_default(window (B, W, D) float32, horizon () int32) -> {"forecast": (B, horizon, D) float32}

The whole autoregressive forecast is the model's `forecast`: one `keras.layers.RNN` pass, a
`tf.while_loop` in the graph, over the window and then over `horizon - 1` closed-loop steps. Plain
TensorFlow, so the SavedModel runs without our code:

    forecast = tf.saved_model.load("exported").signatures["serving_default"]
    forecast(window=tf.constant(window, tf.float32), horizon=tf.constant(500))["forecast"]

NaN values in the window are read as unobserved (the model's own forecast stands in for them);
the first step of each window must be observed. A horizon above the server's `max_horizon` (the
app's 100,000) is refused in the graph before any memory is taken for it: the forecast builds a
(B, horizon - 1, D) input, and a mistyped million would fill the memory.
"""

import tensorflow as tf


class ForecastServer(tf.Module):
    """Serves a `DynamicsForecaster` (module docstring).

    Args:
        model: a built `apps.dynamics.model.DynamicsForecaster`.
        max_horizon: int, the largest horizon served; a larger one is an `InvalidArgumentError`.
    """

    def __init__(self, model, max_horizon):
        super().__init__()
        self.max_horizon = int(max_horizon)
        # The tf.Variables under Keras' variables in `model.variables` order, as every server of
        # `apps.common.serving` tracks them: `ModelDirectory.load_model` reads the weights back by it.
        self.model_variables = [getattr(v, "value", v) for v in model.variables]
        self._forecast = model.forecast  # a bound method: the model itself is not tracked twice
        self.serving_default = tf.function(self._serve, input_signature=[
            tf.TensorSpec([None, None, model.dimension], tf.float32, name="window"),
            tf.TensorSpec([], tf.int32, name="horizon"),
        ])

    def signatures(self):
        return {"serving_default": self.serving_default}

    def _serve(self, window, horizon):
        checks = [
            tf.debugging.assert_positive(horizon, message="horizon must be > 0"),
            tf.debugging.assert_less_equal(horizon, self.max_horizon,
                                           message=f"horizon must be at most {self.max_horizon}"),
            tf.debugging.assert_positive(tf.shape(window)[1], message="the window must hold at least one step"),
        ]
        with tf.control_dependencies(checks):  # checked before the forecast allocates anything
            horizon = tf.identity(horizon)
        return {"forecast": self._forecast(window, horizon)}
