"""The vanishing-gradient experiment: why a gated recurrent unit remembers across a gap and a tanh RNN does not.

The task is recall, the core of the adding problem (Hochreiter & Schmidhuber 1997): at every step
the input is a value uniform in [-1, 1] and a marker bit; the first step is marked, and after
`gap` more steps the model must output the marked value. Only the first step decides, and every
later step pushes the state with a value of the same kind. A recall within 0.1 of the true value
counts as right (always answering 0 is right 10% of the time).

Why not subject-verb agreement: with a binary answer (singular or plural subject, lure nouns in the
clause), a tanh RNN trained on gaps up to 40 answered 100% right in our trial. One bit can be kept in a
saturated unit that later inputs cannot flip (a latch); a value cannot, it must be kept without
being mixed with what follows, and only a gate can let the marked step in and shut the others out.

The models are Masking -> RNN(cell) -> Dense(1) with three cells: a plain tanh RNN
(`keras.layers.SimpleRNNCell`, h_t = tanh(x_t W + h_{t-1} U + b), the vanilla reference), our
`layers.GRUCell` and our `layers.LSTMCell`, each trained on gaps drawn from 1 to the longest
(`train_recall`).

Why the plain RNN forgets. With s_t the recurrent state after step t (h_t; (h_t, c_t) for the
LSTM) and L the loss at the last step T - 1, the chain rule gives

    dL/ds_t = dL/ds_{T-1} * prod_{j=t+1}^{T-1} ds_j/ds_{j-1}

For the tanh RNN each factor is diag(1 - h_j^2) U: with |tanh'| <= 1 and U of norm about 1, the
product shrinks about geometrically with the distance T - 1 - t, so the weights that should
store the marked value get almost no signal (Hochreiter 1991; Bengio et al. 1994). The GRU's
h_j = z_j * h_{j-1} + (1 - z_j) * h~_j and the LSTM's c_j = f_j * c_{j-1} + i_j * c~_j have an
additive path whose factor is the gate itself (z_j, f_j), which training can hold near 1.
Measured: ||dL/dh_t|| against the distance from the end, per cell, on the same network just built
and then trained (`state_gradient_norms`, in `train_recall`), and the accuracy each cell reaches
against the gap. h_t alone, for the LSTM too: its memory c_t is not measured itself, but dL/dh_t
counts every path from h_t to the loss, those through the later memories c_{t+1}, c_{t+2}, ...

The opposite failure, explosion: if the factors are larger than 1 the product grows
geometrically, one update throws the weights far away, and the loss runs off (Pascanu et al.
2013). Clipping the gradient's norm bounds the step; `clipping_demo` trains the same tanh RNN,
started with a large recurrent matrix, by SGD with and without `clipnorm`.

Shapes: B sequences, T = gap + 1 steps, H units. TensorFlow for the gradient tape; the models are
Keras.
"""

import numpy as np

CELLS = ("tanh-rnn", "gru", "lstm")
TOLERANCE = 0.1  # a recall counts as right within this of the true value
CHANCE = TOLERANCE  # always answering 0 is right when |value| < TOLERANCE, for a value uniform in [-1, 1]
FULL = {"gaps": (5, 10, 20, 40, 80), "units": 32, "train_steps": 1500, "batch_size": 64, "learning_rate": 3e-3,
        "test_size": 1000, "clipping_steps": 60}
QUICK = {"gaps": (4, 16), "units": 16, "train_steps": 40, "batch_size": 32, "learning_rate": 3e-3, "test_size": 256,
         "clipping_steps": 15}


def recall_batch(count, length, rng, gap=None):
    """`count` sequences (count, length, 2) float32 and their targets (count, 1).

    Channel 0 holds a value uniform in [-1, 1] at every step, channel 1 marks the first step; the
    target is the marked value, `gap` steps before the end. Sequences are left-padded with zeros
    (masked) to `length`; the gap is drawn uniformly from 1..length - 1 when not given.
    """
    gaps = np.full(count, gap) if gap is not None else rng.integers(1, length, count)
    values = rng.uniform(-1.0, 1.0, (count, length))
    start = length - 1 - gaps  # the marked step
    position = np.arange(length)[None, :]
    values = np.where(position < start[:, None], 0.0, values)
    marks = (position == start[:, None]).astype(float)
    inputs = np.stack([values, marks], axis=-1)
    return inputs.astype("float32"), values[np.arange(count), start][:, None].astype("float32")


def make_cell(name, units, recurrent_initializer=None, seed=0):
    """A cell of CELLS with seeded initialisers: Glorot-uniform input weights, an orthogonal
    recurrent matrix (or `recurrent_initializer`), zero biases (the LSTM's forget bias 1)."""
    import keras

    from layers import GRUCell, LSTMCell

    initializers = {"kernel_initializer": keras.initializers.GlorotUniform(seed),
                    "recurrent_initializer": recurrent_initializer or keras.initializers.Orthogonal(seed=seed)}
    if name == "tanh-rnn":
        return keras.layers.SimpleRNNCell(units, activation="tanh", **initializers)
    if name == "gru":
        return GRUCell(units, **initializers)
    if name == "lstm":
        return LSTMCell(units, **initializers)
    raise ValueError(f"cell must be one of {CELLS}, got {name!r}")


def build_model(cell, seed=0):
    """Masking -> RNN(cell) -> Dense(1): the recalled value. A built `keras.Sequential`."""
    import keras

    return keras.Sequential([
        keras.Input((None, 2)),
        keras.layers.Masking(0.0, name="padding"),
        keras.layers.RNN(cell, name="rnn"),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed), name="value"),
    ])


def state_gradient_norms(model, inputs, targets):
    """||dl_b/dh_t|| for each step t, averaged over the batch: (T,) floats, index t (distance T - 1 - t).

    l_b is sequence b's squared error at the last step and h_t the cell's output state after step t
    (for the LSTM h_t only, not the memory c_t). The RNN is unrolled here one step at a time, with
    the tape watching each h_t, so the gradient is the total derivative through all later steps,
    for the LSTM those through the later memories c_{t+1}, c_{t+2}, ... included. The inputs must
    not be padded (the unrolled loop does not mask).
    """
    import tensorflow as tf

    cell, head = model.get_layer("rnn").cell, model.get_layer("value")
    inputs = tf.convert_to_tensor(inputs)
    states = cell.get_initial_state(batch_size=inputs.shape[0])
    states = list(states) if isinstance(states, (list, tuple)) else [states]
    watched = []  # h_t for each step t, (B, H) each
    with tf.GradientTape() as tape:
        for t in range(inputs.shape[1]):
            output, states = cell(inputs[:, t], states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            tape.watch(states[0])  # h_t: the first state of every cell here (the LSTM's are [h, c])
            watched.append(states[0])
        loss = tf.reduce_sum(tf.square(head(output) - targets))
    gradients = tape.gradient(loss, watched)  # T x (B, H)
    return np.array([float(tf.reduce_mean(tf.norm(g, axis=-1))) for g in gradients])


def recall_accuracy(model, inputs, targets):
    """The fraction of sequences whose recalled value is within TOLERANCE of the true one."""
    predictions = model.predict(inputs, batch_size=500, verbose=0)
    return float(np.mean(np.abs(predictions - targets) < TOLERANCE))


def train_recall(cell_name, settings, probe, seed=0):
    """A model trained on sequences of every gap up to the longest of `settings["gaps"]`, and its
    gradient norms on `probe` just after it is built and after training.

    Mixed gaps: the short ones give a strong gradient early on, so what a cell can learn to keep
    is limited by how far it can carry it, not by whether training ever finds the task.

    Args:
        cell_name: str, one of CELLS.
        settings: dict, `FULL` or `QUICK`.
        probe: (inputs, targets) of unpadded sequences (`recall_batch` with a fixed gap) for
            `state_gradient_norms`.
        seed: int, of the initialisers and the training and test sequences. Defaults to 0.

    Returns:
        (model, accuracies, norms): the trained model; `recall_accuracy` on fresh sequences of
        each gap of `settings["gaps"]`; {"initial": [...], "trained": [...]}, ||dL/dh_t|| by
        distance from the end (index 0 = the last step) on this model before and after `fit`.
    """
    import keras

    keras.utils.set_random_seed(seed)  # the initialisers have their own seeds: this fixes anything else random
    length = max(settings["gaps"]) + 1
    model = build_model(make_cell(cell_name, settings["units"], seed=seed), seed=seed)
    norms = {"initial": state_gradient_norms(model, *probe)[::-1].tolist()}
    model.compile(keras.optimizers.Adam(settings["learning_rate"], clipnorm=1.0), "mse")
    size = settings["batch_size"]
    inputs, targets = recall_batch(settings["train_steps"] * size, length, np.random.default_rng(seed))
    model.fit(inputs, targets, batch_size=size, epochs=1, shuffle=False, verbose=0)
    norms["trained"] = state_gradient_norms(model, *probe)[::-1].tolist()
    accuracies = [recall_accuracy(model, *recall_batch(settings["test_size"], length,
                                                        np.random.default_rng(seed + 1 + gap), gap=gap))
                  for gap in settings["gaps"]]
    return model, accuracies, norms


def clipping_demo(gap=20, units=32, steps=60, gain=2.5, learning_rate=0.1, clipnorm=1.0, seed=0):
    """The same tanh RNN (recurrent matrix orthogonal times `gain`) trained by SGD with and without clipping.

    Returns:
        {"without": losses, "with": losses, "first_gradient_norm": float, and the settings "gain",
        "learning_rate", "clipnorm"}: the training loss before each of `steps` updates (a
        non-finite loss is kept as inf) and the norm of the first gradient (over all weights).
    """
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    batches = [recall_batch(32, gap + 1, rng, gap=gap) for _ in range(steps)]
    curves, first_norm = {}, None
    for label, clip in (("without", None), ("with", clipnorm)):
        keras.utils.set_random_seed(seed)
        cell = make_cell("tanh-rnn", units, keras.initializers.Orthogonal(gain, seed=seed), seed=seed)
        model = build_model(cell, seed=seed)
        optimizer = keras.optimizers.SGD(learning_rate, clipnorm=clip)
        losses = []
        for inputs, targets in batches:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(inputs, training=True) - targets))
            gradients = tape.gradient(loss, model.trainable_variables)
            if first_norm is None:
                first_norm = float(tf.linalg.global_norm(gradients))
            optimizer.apply(gradients, model.trainable_variables)
            losses.append(float(loss) if np.isfinite(float(loss)) else float("inf"))
        curves[label] = losses
    return {**curves, "first_gradient_norm": first_norm, "gain": gain, "learning_rate": learning_rate,
            "clipnorm": clipnorm}


def run_experiment(settings, seed=0, log=None):
    """Accuracy against gap per cell, gradient norms at the longest gap (initial and trained), clipping.

    Returns:
        {"gaps": [...], "accuracy": {cell: [float per gap]}, "gradient_norms": {cell: {"initial": [...],
        "trained": [...]}} (index = distance from the end), "clipping": `clipping_demo`'s dict,
        "settings": settings}.
    """
    gaps = list(settings["gaps"])
    longest = max(gaps)
    probe = recall_batch(128, longest + 1, np.random.default_rng(seed + 2000), gap=longest)
    accuracy, norms = {}, {}
    for cell_name in CELLS:
        _, accuracy[cell_name], norms[cell_name] = train_recall(cell_name, settings, probe, seed=seed)
        if log:
            pairs = zip(gaps, accuracy[cell_name], strict=True)
            log(f"{cell_name}: " + ", ".join(f"gap {gap} {right:.3f}" for gap, right in pairs))
    return {"gaps": gaps, "accuracy": accuracy, "gradient_norms": norms,
            "clipping": clipping_demo(gap=min(20, longest), steps=settings["clipping_steps"], seed=seed),
            "settings": {key: list(value) if isinstance(value, tuple) else value for key, value in settings.items()}}
