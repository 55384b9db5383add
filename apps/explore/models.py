"""The explorer's models: each loaded once per process, on its first request, under its app's lock.

`Models` maps (app, model name) to a `LoadedModel`. The first request for a model loads it while
holding that app's lock, so two requests never load the same model twice, and a request for
another app never waits for it: each app has its own lock. Once loaded, a model is read without
any lock, as TensorFlow's functions may be called from several threads at once.

Which directories can be loaded is fixed when the server starts (the shipped models, or
`--model-dir APP=DIR`); a request only names one of them, so no path from a request reaches the
file system.
"""

import importlib
import os
import threading

from apps.explore.inputs import InputError

# app -> "module:class" of its Task (a task module imports no TensorFlow: listing the apps is fast).
TASKS = {
    "translate": "apps.translate.task:TranslationTask",
    "caption": "apps.caption.task:CaptionTask",
    "sentiment": "apps.sentiment.task:SentimentTask",
    "generate": "apps.generate.task:GenerationTask",
    "music": "apps.music.task:MusicTask",
    "dynamics": "apps.dynamics.task:DynamicsTask",
}


def make_task(app):
    """The app's Task, imported when asked for: `--help` imports none of them."""
    module, _, name = TASKS[app].partition(":")
    return getattr(importlib.import_module(module), name)()


class LoadedModel:
    """One model directory, read once: config, vocabularies, SavedModel; the Keras model on demand.

    It answers what the apps' own functions ask of a `ModelDirectory` (`config()`,
    `vocabulary(name)`, `vocabularies()`, `load_serving()`, `path`) from what it holds, so a
    function such as `apps.music.composing.compose_melody(directory, ...)` runs on it without
    reading the directory again.

    Args:
        name: str, what the page calls it (a shipped model's name, or --model-dir's folder).
        runner: the app's `apps.common.runner.Runner`.
        directory: its `ModelDirectory`.
    """

    def __init__(self, name, runner, directory):
        self.name, self.runner, self.path = name, runner, directory.path
        self._config = directory.config()
        self._vocabularies = directory.vocabularies()
        # No graph optimisation (process-wide): a request's first call starts at once, and the
        # page's inputs are small, where Grappler wins nothing back (`ModelDirectory.load_serving`).
        self._serving = directory.load_serving(optimize=False)
        self._directory = directory
        self._lock = threading.RLock()  # reentrant: making one thing may need another (a step needs the model)
        self._made = {}

    def config(self):
        return self._config

    def vocabulary(self, name):
        return self._vocabularies[name]

    def vocabularies(self):
        return dict(self._vocabularies)

    def load_serving(self, optimize=False):
        return self._serving

    def signature(self, name="serving_default"):
        return self._serving.signatures[name]

    def made(self, name, make):
        """`make()`, called once for this model under its lock (the Keras model, a compiled step)."""
        if name not in self._made:
            with self._lock:
                if name not in self._made:
                    self._made[name] = make()
        return self._made[name]

    def keras_model(self):
        """The Keras model, rebuilt from the directory (for what the SavedModel does not export:
        teacher-forced scores, per-layer attention, a step at a time)."""
        return self.made("keras model", lambda: self.runner.load_model(self._directory))


class Models:
    """The models the page may use, loaded lazily, one lock per app.

    Args:
        model_dirs: {app: directory} from `--model-dir APP=DIR`: that app offers this model
            (named after the directory) instead of its shipped ones.
    """

    def __init__(self, model_dirs=None):
        from apps.common.runner import Runner

        self._runners = {app: Runner(make_task(app)) for app in TASKS}
        self._paths = {}  # app -> {model name: its directory}
        for app, runner in self._runners.items():
            task = runner.task
            if model_dirs and app in model_dirs:
                path = os.path.abspath(model_dirs[app])
                self._paths[app] = {os.path.basename(path.rstrip(os.sep)) or app: path}
            else:
                self._paths[app] = {name: str(task.shipped_dir / name) for name in task.shipped_models}
        self._locks = {app: threading.Lock() for app in TASKS}
        self._loaded = {}

    def task(self, app):
        return self._runners[app].task

    def names(self, app):
        """The model names the page offers for `app`, the default first."""
        names = list(self._paths[app])
        default = self._runners[app].task.default_model
        return sorted(names, key=lambda name: name != default)

    def get(self, app, name=None):
        """The `LoadedModel` of `app` called `name` (default: the app's default), loaded on first use."""
        if app not in self._paths:
            raise InputError(f"unknown app {app!r}: expected one of {', '.join(TASKS)}", status=404)
        names = self.names(app)
        if not names:
            raise InputError(f"{app} has no model: start the explorer with --model-dir {app}=DIR", status=404)
        name = name or names[0]
        if name not in self._paths[app]:
            raise InputError(f"unknown {app} model {name!r}: expected one of {', '.join(names)}")
        key = (app, name)
        loaded = self._loaded.get(key)
        if loaded is None:
            with self._locks[app]:  # another app's requests go on meanwhile
                loaded = self._loaded.get(key)
                if loaded is None:
                    runner = self._runners[app]
                    directory = runner.task.directory(self._paths[app][name])
                    loaded = self._loaded[key] = LoadedModel(name, runner, directory)
        return loaded
