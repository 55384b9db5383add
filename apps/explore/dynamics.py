"""The page's forecasting: a held-out window of the model's system and a horizon in; the forecast
against the truth, and the valid prediction time, out.

The window, the forecast and the report are the `forecast` command's (`DynamicsTask.held_out_window`,
`forecast_of`), the picture its --plot (`DynamicsTask.plot_forecast`). A model trains on one
system, so the page's choice of system is its choice of model.
"""

from apps.explore.inputs import InputError
from apps.explore.pictures import drawn

PAGE_MAX_STEPS = 5000


def answer(models, fields, files):
    from apps.dynamics.systems import SYSTEMS
    from apps.dynamics.task import WINDOW

    loaded = models.get("dynamics", fields.values.get("model"))
    task = models.task("dynamics")
    data = loaded.config().get("training", {})
    if data.get("system") not in SYSTEMS:
        raise InputError(f"{loaded.name} was trained on a series of its own: the page forecasts simulated systems "
                         "only (python -m apps.dynamics --observations FILE.csv forecasts a series)")
    system = SYSTEMS[data["system"]]
    steps = fields.integer("steps", 1000, 1, PAGE_MAX_STEPS)
    seed = fields.integer("seed", 0, 0, 2**31 - 1)
    noise = fields.number("noise", 0.0, 0.0, 0.5)
    observed, truth = task.held_out_window(system, data.get("window", WINDOW), steps, seed, noise)
    forecast, result = task.forecast_of(loaded.load_serving(), data, observed, truth, steps, system.name)
    plot = drawn(lambda path: task.plot_forecast(forecast, truth, observed, data, result, path))
    return {"model": loaded.name, "system": system.title, **result, "seed": seed, "plot": plot}
