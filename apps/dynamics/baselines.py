"""Forecasters to compare a recurrent network with: persistence, linear autoregression, an echo state network.

Each has `fit(trajectories)` and `forecast(windows, horizon)`, in NumPy:

    Persistence            x^(W + k) = x(W): the last observed state, held. What any forecast must beat.
    LinearAutoregression   u(t + 1) = A [u(t); u(t - 1); ...; u(t - p + 1); 1], A by ridge regression.
    EchoStateNetwork       reservoir computing (Jaeger 2001; Pathak et al. 2017, 2018), below.

`u` is the state standardised per variable with the training data's mean and standard deviation.
Shapes: B forecasts, W observed steps, D variables, N reservoir units, p the autoregressive order.

Echo state network. A fixed random recurrent network, the reservoir, is driven by the series; only
a linear readout is trained:

    r(t + 1) = (1 - a) r(t) + a tanh(M r(t) + V [u(t); 1])      (N,) reservoir state, a the leak rate
    u^(t + 1) = U [q(r(t + 1)); 1]                                  readout, U by ridge regression

M is sparse (each unit hears `degree` units drawn at random) with weights uniform in [-1, 1],
rescaled to spectral radius rho; V is dense, uniform in [-sigma, sigma]. q squares every second unit, which breaks the
reservoir's symmetry r -> -r, as Pathak et al. (2017) do for Lorenz-63. To forecast, the reservoir
listens to the observed window (open loop), then its own output becomes its input (closed loop).

Ridge regression, for features F (rows, K) and targets Y (rows, D): A = (F^T F + beta I)^-1 F^T Y.

Example:
    >>> from apps.dynamics.systems import SYSTEMS
    >>> lorenz = SYSTEMS["lorenz"]
    >>> train = lorenz.trajectory(lorenz.initial_conditions(8, seed=1), 2000)
    >>> esn = EchoStateNetwork().fit(train)
    >>> esn.forecast(train[:2, :100], 50).shape
    (2, 50, 3)
"""

import numpy as np

FIT_CHUNK_STATES = 2**23  # reservoir state values held at once while fitting: 64 MB of float64


def ridge_regression(gram, cross, beta):
    """(F^T F + beta I)^-1 F^T Y from the accumulated F^T F (K, K) and F^T Y (K, D)."""
    return np.linalg.solve(gram + beta * np.eye(len(gram)), cross)


def as_batches(trajectories):
    """Trajectories as (b, T, D) float64 arrays, one per length: an array (B, T, D) or a list of (T_i, D)."""
    if isinstance(trajectories, np.ndarray) and trajectories.ndim == 3:
        return [trajectories.astype(np.float64)]
    by_length = {}
    for trajectory in trajectories:
        by_length.setdefault(len(trajectory), []).append(np.asarray(trajectory, dtype=np.float64))
    return [np.stack(group) for group in by_length.values()]


class Standardiser:
    """u = (x - mean) / std per variable, fitted on training trajectories."""

    def fit(self, trajectories):
        states = np.concatenate([batch.reshape(-1, batch.shape[-1]) for batch in as_batches(trajectories)])
        self.mean, self.std = states.mean(axis=0), np.maximum(states.std(axis=0), 1e-12)
        return self

    def __call__(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def inverse(self, u):
        return u * self.std + self.mean


class Persistence:
    """The last observed state, held for the whole horizon."""

    name = "persistence"

    def fit(self, trajectories):
        return self

    def forecast(self, windows, horizon):
        windows = np.asarray(windows, dtype=np.float64)
        return np.repeat(windows[:, -1:], horizon, axis=1)  # (B, horizon, D)


class LinearAutoregression:
    """u(t + 1) = A [u(t); ...; u(t - p + 1); 1], fitted by ridge regression.

    Args:
        order: int, p, the past states the next one depends on. Defaults to 4.
        beta: float, the ridge penalty. Defaults to 1e-6.
    """

    name = "linear-ar"

    def __init__(self, order=4, beta=1e-6):
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be a positive integer, got {order!r}")
        self.order, self.beta = order, beta

    def fit(self, trajectories):
        self.standardise = Standardiser().fit(trajectories)
        features, targets = [], []
        for batch in as_batches(trajectories):
            u = self.standardise(batch)  # (b, T, D)
            for t in range(self.order - 1, u.shape[1] - 1):
                features.append(self._features(u[:, : t + 1]))
                targets.append(u[:, t + 1])
        features, targets = np.concatenate(features), np.concatenate(targets)
        if len(features) < features.shape[1]:
            raise ValueError(f"{len(features)} training steps are too few for order {self.order}")
        self.weights = ridge_regression(features.T @ features, features.T @ targets, self.beta)  # (pD + 1, D)
        return self

    def _features(self, u):
        """(B, >= p, D) -> (B, pD + 1): the last p states, newest first, and 1."""
        recent = [u[:, -1 - lag] for lag in range(self.order)]
        return np.concatenate([*recent, np.ones((len(u), 1))], axis=1)

    def forecast(self, windows, horizon):
        u = self.standardise(windows)  # (B, W, D)
        if u.shape[1] < self.order:
            raise ValueError(f"a window of {u.shape[1]} steps is shorter than the order {self.order}")
        history, out = u[:, -self.order :], []
        for _ in range(horizon):
            following = self._features(history) @ self.weights  # (B, D)
            out.append(following)
            history = np.concatenate([history[:, 1:], following[:, None]], axis=1)
        return self.standardise.inverse(np.stack(out, axis=1))


class EchoStateNetwork:
    """A leaky echo state network with a ridge-regression readout (module docstring).

    Args:
        units: int, N. Defaults to 500.
        spectral_radius: float, rho, of M. Defaults to 0.6: on Lorenz-63 (dt 0.02, 32 training
            trajectories of 2,000 steps, 100-step windows, 50 held-out conditions) the median valid
            prediction time was 9.4, 10.2, 8.8, 6.4 Lyapunov times for rho 0.4, 0.6, 0.9, 1.1.
        degree: int, the reservoir units each unit hears. Defaults to 3.
        input_scale: float, sigma, of V. Defaults to 0.5 (the inputs are standardised).
        leak_rate: float in (0, 1], a. Defaults to 1 (no leak).
        beta: float, the ridge penalty. Defaults to 1e-6.
        washout: int, driven steps of each training trajectory left out of the fit, while the
            reservoir forgets its zero start. Defaults to 100.
        seed: int, of the random reservoir. Defaults to 0.
    """

    name = "esn"

    def __init__(self, units=500, spectral_radius=0.6, degree=3, input_scale=0.5, leak_rate=1.0, beta=1e-6,
                 washout=100, seed=0):
        if not 0.0 < leak_rate <= 1.0:
            raise ValueError(f"leak_rate must be in (0, 1], got {leak_rate}")
        self.units, self.spectral_radius, self.degree = units, spectral_radius, degree
        self.input_scale, self.leak_rate, self.beta = input_scale, leak_rate, beta
        self.washout, self.seed = washout, seed

    def fit(self, trajectories):
        self.standardise = Standardiser().fit(trajectories)
        dimension = len(self.standardise.mean)
        rng = np.random.default_rng(self.seed)
        N = self.units
        # M as `degree` (source, weight) pairs per unit: M r is a gather, not an (N, N) product.
        self.sources = rng.integers(0, N, (N, self.degree))  # (N, degree)
        weights = rng.uniform(-1.0, 1.0, (N, self.degree))
        dense = np.zeros((N, N))
        np.add.at(dense, (np.repeat(np.arange(N), self.degree), self.sources.ravel()), weights.ravel())
        radius = np.max(np.abs(np.linalg.eigvals(dense)))
        self.weights = weights * (self.spectral_radius / max(radius, 1e-12))  # (N, degree)
        self.input_weights = rng.uniform(-self.input_scale, self.input_scale, (dimension + 1, N))  # V^T

        # F^T F and F^T Y summed over chunks of trajectories: the reservoir states of all of them at
        # once, (64, 1999, 500) float64 for the default training set, and the features made from
        # them would take over 1 GB.
        gram, cross = np.zeros((N + 1, N + 1)), np.zeros((N + 1, dimension))
        for batch in as_batches(trajectories):
            if batch.shape[1] <= self.washout + 1:
                raise ValueError(f"trajectories of {batch.shape[1]} steps are too short for a washout of "
                                 f"{self.washout}")
            chunk = max(1, FIT_CHUNK_STATES // (batch.shape[1] * N))  # trajectories at a time
            for start in range(0, len(batch), chunk):
                u = self.standardise(batch[start : start + chunk])  # (b, T, D)
                states = self._listen(u[:, :-1], np.zeros((len(u), N)))  # r(t + 1) for t = 0..T-2, (b, T-1, N)
                features = self._features(states[:, self.washout :]).reshape(-1, N + 1)
                targets = u[:, self.washout + 1 :].reshape(-1, dimension)
                gram += features.T @ features
                cross += features.T @ targets
        self.readout = ridge_regression(gram, cross, self.beta)  # U^T (N + 1, D)
        return self

    def _update(self, r, u):
        """r(t + 1) from r(t) (B, N) and u(t) (B, D)."""
        recurrent = np.sum(r[:, self.sources] * self.weights, axis=-1)  # M r(t), (B, N)
        drive = recurrent + np.concatenate([u, np.ones((len(u), 1))], axis=1) @ self.input_weights
        return (1.0 - self.leak_rate) * r + self.leak_rate * np.tanh(drive)

    def _listen(self, u, r):
        """Open loop: the reservoir states (B, T, N) after each of the inputs u (B, T, D)."""
        states = []
        for t in range(u.shape[1]):
            r = self._update(r, u[:, t])
            states.append(r)
        return np.stack(states, axis=1)

    def _features(self, r):
        """q(r) and 1: every second unit squared; (..., N) -> (..., N + 1)."""
        q = r.copy()
        q[..., 1::2] = q[..., 1::2] ** 2
        return np.concatenate([q, np.ones((*q.shape[:-1], 1))], axis=-1)

    def forecast(self, windows, horizon):
        u = self.standardise(windows)  # (B, W, D)
        r = self._listen(u, np.zeros((len(u), self.units)))[:, -1]
        out = []
        with np.errstate(over="ignore", invalid="ignore"):  # a closed loop may run away: inf, then nan
            for step in range(horizon):
                following = self._features(r) @ self.readout  # (B, D)
                out.append(following)
                if step + 1 < horizon:
                    r = self._update(r, following)
        return self.standardise.inverse(np.stack(out, axis=1))
