"""How good a forecast of a dynamical system is: valid prediction time and long-run statistics.

Valid prediction time (Pathak et al. 2018, "Hybrid forecasting of chaotic processes", Chaos 28,
041101, threshold f = 0.4): with the truth x(t) and the forecast x^(t), t = 1, 2, ... steps after
the observed window, the normalised error is

    E(t) = ||x^(t) - x(t)|| / sqrt(< ||x||^2 >)

where ||.|| is the Euclidean norm over the D variables and < ||x||^2 > is the mean of ||x||^2 over
the system's true states (`error_scale`; the variables are not centred, as in Pathak et al.). The
scale is fixed per system, so that every model, horizon and command measures against the same
yardstick: for a simulated system it is taken over the system's long reference run
(`System.reference_states`: 27.8 for Lorenz-63), in `eval` and `forecast` alike; for a user's
series, over the training split of the series. The forecast is valid until E first exceeds the
threshold: the valid prediction time is the number of forecast steps before that one, and in
Lyapunov times steps * dt * lambda_max (`lyapunov_times`). A forecast that is never wrong within
its horizon is valid for the whole horizon (the result is then a lower bound); a non-finite
forecast is wrong from its first non-finite step.

Vlachas et al. (2020, Neural Networks 126) measure otherwise: each variable's error is divided by
that variable's own standard deviation sigma_i, and the root mean square over the variables,
NRMSE(t) = sqrt(mean_i ((x^_i(t) - x_i(t)) / sigma_i)^2), must stay below 0.5. For Lorenz-63
(sigma about 7.9, 9.0, 8.6) that allows an error ||x^ - x|| of about 0.5 sqrt(3) 8.5 = 7.4,
against 0.4 * 27.8 = 11.1 here: errors grow like exp(lambda_max t), so our valid prediction time
is about ln(11.1 / 7.4) = 0.4 Lyapunov times longer than theirs for the same forecast. The
uncentred scale is lenient for a system that circles far from the origin compared with its
spread: Lotka-Volterra's states average (1, 0.5), so sqrt(<||x||^2>) is about 1.2 while a small
orbit spans a few tenths, and a forecast that leaves such an orbit can stay "valid" throughout.

Long-run statistics: over a long free run a good model stays on the attractor. Its per-variable
distribution is compared with the true system's by the 1-Wasserstein (earth mover's) distance,

    W1(u, v) = integral |F_u(s) - F_v(s)| ds

between the empirical distribution functions F of the two samples (in the variable's units).

Shapes: B forecasts, T steps, D variables.

Example:
    >>> truth = np.zeros((1, 5, 2)); forecast = truth.copy(); forecast[0, 3:, 0] = 1.0
    >>> valid_prediction_steps(forecast, truth, scale=2.0)     # E = 0.5 > 0.4 from step 4
    array([3])
"""

import numpy as np

THRESHOLD = 0.4


def error_scale(truth):
    """sqrt(< ||x||^2 >): the root mean squared norm of true states (..., D), a float."""
    truth = np.asarray(truth, dtype=np.float64)
    return float(np.sqrt(np.mean(np.sum(truth**2, axis=-1))))


def normalised_error(forecast, truth, scale):
    """E(t) = ||x^(t) - x(t)|| / scale; (B, T, D) twice -> (B, T), +inf where the forecast is not finite."""
    forecast, truth = np.asarray(forecast, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if forecast.shape != truth.shape:
        raise ValueError(f"forecast {forecast.shape} and truth {truth.shape} differ in shape")
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.linalg.norm(forecast - truth, axis=-1) / scale
    return np.where(np.isfinite(error), error, np.inf)


def valid_prediction_steps(forecast, truth, scale, threshold=THRESHOLD):
    """The forecast steps before E(t) first exceeds `threshold`: (B,) ints in 0..T.

    Args:
        forecast, truth: (B, T, D), step t of each at index t - 1.
        scale: float, sqrt(< ||x||^2 >) (`error_scale`).
        threshold: float, Pathak et al.'s f. Defaults to 0.4.
    """
    wrong = normalised_error(forecast, truth, scale) > threshold  # (B, T)
    steps = wrong.shape[1]
    return np.where(wrong.any(axis=1), np.argmax(wrong, axis=1), steps)


def lyapunov_times(steps, dt, lyapunov_exponent):
    """Steps -> Lyapunov times, steps * dt * lambda_max (arrays or numbers)."""
    return np.asarray(steps) * dt * lyapunov_exponent


def summary(values):
    """Median and spread of a sample: {"median", "p25", "p75", "mean", "min", "max"}, floats."""
    values = np.asarray(values, dtype=np.float64)
    p25, median, p75 = np.percentile(values, [25, 50, 75])
    return {"median": float(median), "p25": float(p25), "p75": float(p75), "mean": float(values.mean()),
            "min": float(values.min()), "max": float(values.max())}


def wasserstein_distance(u, v):
    """W1 between the empirical distributions of two 1-D samples (floats, any lengths), a float.

    The area between the two step-shaped distribution functions, computed exactly on the merged
    sorted sample (as scipy.stats.wasserstein_distance does).
    """
    u, v = np.sort(np.asarray(u, dtype=np.float64).ravel()), np.sort(np.asarray(v, dtype=np.float64).ravel())
    if not len(u) or not len(v):
        raise ValueError("both samples must be non-empty")
    points = np.sort(np.concatenate([u, v]))
    widths = np.diff(points)
    u_cdf = np.searchsorted(u, points[:-1], side="right") / len(u)
    v_cdf = np.searchsorted(v, points[:-1], side="right") / len(v)
    return float(np.sum(np.abs(u_cdf - v_cdf) * widths))


def long_run_spread(runs, reference, variables):
    """Per-variable W1 of several free runs ([(T, D)]) to reference states (N, D), as a spread over
    the runs: {name: {"median", "min", "max"} or None}, None where a run diverged. One free run of a
    chaotic system depends on the last bit of its start (and of the machine's arithmetic), so only
    a spread over starts says how far a forecaster's long-run statistics are from the system's.
    """
    distances = [long_run_distances(run, reference, variables) for run in runs]
    spread = {}
    for name in variables:
        values = [d[name] for d in distances]
        spread[name] = None if None in values else {
            "median": round(float(np.median(values)), 4), "min": min(values), "max": max(values)}
    return spread


def long_run_distances(run, reference, variables):
    """Per-variable W1 between a free run (T, D) and reference states (N, D); {name: float or None}.

    None for a run that left the real numbers (diverged): its distance is not defined.
    """
    run, reference = np.asarray(run), np.asarray(reference)
    if not np.all(np.isfinite(run)):
        return {name: None for name in variables}
    return {name: round(wasserstein_distance(run[:, i], reference[:, i]), 4) for i, name in enumerate(variables)}
