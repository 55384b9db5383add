"""Dynamical systems to forecast: ODEs integrated with classical Runge-Kutta, and iterated maps.

A continuous-time system dx/dt = f(x) is sampled every `dt`; between samples it is integrated with
`substeps` steps of the classical fourth-order Runge-Kutta method (RK4) of size h = dt / substeps:

    k1 = f(x)
    k2 = f(x + h/2 k1)
    k3 = f(x + h/2 k2)
    k4 = f(x + h k3)
    x(t + h) = x(t) + h/6 (k1 + 2 k2 + 2 k3 + k4) + O(h^5)        (global error O(h^4))

A discrete-time system x_{n+1} = F(x_n) is sampled every iteration (dt = 1).

    SYSTEMS["lorenz"]           Lorenz-63 (Lorenz 1963): sigma 10, rho 28, beta 8/3; dt 0.02, RK4 step 0.01;
                                lambda_max 0.9056 per time unit (Sprott 2003)
    SYSTEMS["lotka-volterra"]   predator and prey (Lotka 1925, Volterra 1926): closed periodic orbits, not
                                chaotic; dt 0.05, RK4 step 0.025
    SYSTEMS["henon"]            the Henon map (Henon 1976): a 1.4, b 0.3; lambda_max 0.4192 per iteration

Everything is NumPy and vectorised over a batch of initial conditions. Shapes: B trajectories,
T samples, D variables.

Example:
    >>> lorenz = SYSTEMS["lorenz"]
    >>> x0 = lorenz.initial_conditions(4, seed=0)           # (4, 3), already on the attractor
    >>> lorenz.trajectory(x0, 500).shape                    # 500 samples, 10 time units
    (4, 500, 3)
"""

import functools

import numpy as np

REFERENCE_SEED = 0  # the reference run's initial conditions: the app's splits draw with seeds 1 to 3, forecasts 1000+
REFERENCE_TRAJECTORIES, REFERENCE_STEPS = 64, 2000  # the reference run: as many samples as a training set


def rk4_step(f, x, h):
    """One classical Runge-Kutta step of size h for dx/dt = f(x); x (..., D) -> (..., D)."""
    k1 = f(x)
    k2 = f(x + 0.5 * h * k1)
    k3 = f(x + 0.5 * h * k2)
    k4 = f(x + h * k3)
    return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


class System:
    """One dynamical system, sampled every `dt`.

    Attributes:
        name: str, the registry key (the command line's --system).
        title: str, for plots and messages.
        variables: tuple of D str, the state's variable names.
        dt: float, time between two samples (1 for a map: time counts iterations).
        lyapunov_exponent: float or None, the largest Lyapunov exponent lambda_max per unit of
            time, for chaotic systems: errors grow like exp(lambda_max t), and one Lyapunov time
            is 1 / lambda_max.
        spin_up: int, samples run and dropped after drawing an initial condition, so that
            `initial_conditions` lie on the attractor.
    """

    name = title = None
    variables = ()
    dt = 1.0
    lyapunov_exponent = None
    spin_up = 0

    @property
    def dimension(self):
        return len(self.variables)

    def advance(self, x):
        """The state one sample later; x (B, D) -> (B, D)."""
        raise NotImplementedError

    def draw(self, count, rng):
        """`count` raw initial conditions (count, D), before the spin-up."""
        raise NotImplementedError

    def initial_conditions(self, count, seed=0):
        """`count` initial conditions (count, D) on the attractor: drawn, then run `spin_up` samples."""
        x = self.draw(count, np.random.default_rng(seed))
        for _ in range(self.spin_up):
            x = self.advance(x)
        return x

    def trajectory(self, x0, steps):
        """`steps` samples from x0, the first being x0.

        Args:
            x0: (B, D) or (D,) initial states.
            steps: int >= 1.

        Returns:
            float64 array (B, steps, D), or (steps, D) for a single x0.
        """
        x = np.asarray(x0, dtype=np.float64)
        single = x.ndim == 1
        x = np.atleast_2d(x)
        if x.shape[-1] != self.dimension:
            raise ValueError(f"{self.name} has {self.dimension} variables, got initial states of shape {x.shape}")
        samples = [x]
        for _ in range(steps - 1):
            samples.append(self.advance(samples[-1]))
        out = np.stack(samples, axis=1)
        return out[0] if single else out

    @functools.cached_property
    def reference_states(self):
        """A long sample of the system's states, (64 * 2000, D) float64, computed once per process.

        64 trajectories of 2,000 samples from initial conditions of `REFERENCE_SEED`. The system's fixed
        scales come from it, the same for every model, split and horizon: the per-variable
        standard deviation that observation noise is a fraction of, and the valid prediction
        time's error scale (`apps.dynamics.metrics.error_scale`).
        """
        states = self.trajectory(self.initial_conditions(REFERENCE_TRAJECTORIES, seed=REFERENCE_SEED),
                                 REFERENCE_STEPS)
        return states.reshape(-1, self.dimension)

    def describe(self):
        """The plain-data summary that a model directory records."""
        return {"system": self.name, "variables": list(self.variables), "dt": self.dt,
                "lyapunov_exponent": self.lyapunov_exponent}


class Flow(System):
    """A continuous-time system dx/dt = f(x), sampled every dt after `substeps` RK4 steps of dt / substeps."""

    substeps = 1

    def vector_field(self, x):
        """f(x); x (B, D) -> (B, D)."""
        raise NotImplementedError

    def advance(self, x):
        h = self.dt / self.substeps
        for _ in range(self.substeps):
            x = rk4_step(self.vector_field, x, h)
        return x


class Lorenz(Flow):
    """Lorenz-63: dx/dt = sigma (y - x), dy/dt = x (rho - z) - y, dz/dt = x y - beta z."""

    name, title, variables = "lorenz", "Lorenz-63", ("x", "y", "z")
    sigma, rho, beta = 10.0, 28.0, 8.0 / 3.0
    dt, substeps = 0.02, 2  # RK4 step 0.01
    lyapunov_exponent = 0.9056
    spin_up = 1000  # 20 time units: far longer than the attractor takes to draw a point in

    def vector_field(self, state):
        x, y, z = state[..., 0], state[..., 1], state[..., 2]
        return np.stack([self.sigma * (y - x), x * (self.rho - z) - y, x * y - self.beta * z], axis=-1)

    def draw(self, count, rng):
        return rng.uniform([-15.0, -20.0, 5.0], [15.0, 20.0, 40.0], size=(count, 3))


class LotkaVolterra(Flow):
    """Prey x and predators y: dx/dt = alpha x - beta x y, dy/dt = delta x y - gamma y.

    Every orbit is closed (the quantity delta x - gamma ln x + beta y - alpha ln y is conserved)
    around the equilibrium (gamma / delta, alpha / beta) = (1, 0.5); the period grows with the
    orbit's size (2 pi / sqrt(alpha gamma) = 7.7 time units for a small one).
    """

    name, title, variables = "lotka-volterra", "Lotka-Volterra", ("prey", "predators")
    alpha, beta, gamma, delta = 2.0 / 3.0, 4.0 / 3.0, 1.0, 1.0
    dt, substeps = 0.05, 2

    def vector_field(self, state):
        x, y = state[..., 0], state[..., 1]
        return np.stack([self.alpha * x - self.beta * x * y, self.delta * x * y - self.gamma * y], axis=-1)

    def draw(self, count, rng):
        return rng.uniform([0.4, 0.2], [1.6, 0.8], size=(count, 2))


class Henon(System):
    """The Henon map: x_{n+1} = 1 - a x_n^2 + y_n, y_{n+1} = b x_n."""

    name, title, variables = "henon", "Henon map", ("x", "y")
    a, b = 1.4, 0.3
    lyapunov_exponent = 0.4192
    spin_up = 1000

    def advance(self, state):
        x, y = state[..., 0], state[..., 1]
        return np.stack([1.0 - self.a * x * x + y, self.b * x], axis=-1)

    def draw(self, count, rng):
        # Near the origin, inside the basin of the attractor (points further out can escape to infinity).
        return rng.uniform(-0.1, 0.1, size=(count, 2))


SYSTEMS = {system.name: system for system in (Lorenz(), LotkaVolterra(), Henon())}
