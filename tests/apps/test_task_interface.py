"""Every app fits the shared Task interface without bending it: no hook overridden to raise, no
hook that rewrites the parsed command line, and the portable trainer only where examples are token ids."""

import argparse
import ast
import importlib
import inspect
import textwrap

import pytest

from apps.common.cli import UserError
from apps.common.runner import PORTABLE_COMMANDS, Runner
from apps.common.task import Task

APPS = ("translate", "caption", "sentiment", "generate", "music", "dynamics")


def app_task(app):
    module = importlib.import_module(f"apps.{app}.task")
    [task] = [value for value in vars(module).values() if isinstance(value, type) and issubclass(value, Task)
              and value is not Task and value.__module__ == module.__name__]
    return task


def overridden_hooks(task):
    """(name, ast of the body) of each Task hook the app overrides."""
    for name, member in vars(task).items():
        if callable(member) and hasattr(Task, name):
            tree = ast.parse(textwrap.dedent(inspect.getsource(member)))
            yield name, tree.body[0]


@pytest.mark.parametrize("app", APPS)
def test_no_hook_is_overridden_only_to_raise(app):
    for name, function in overridden_hooks(app_task(app)):
        docstring = lambda node: isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)  # noqa: E731
        body = [node for node in function.body if not docstring(node)]
        assert not (len(body) == 1 and isinstance(body[0], ast.Raise)), f"{app}: {name} only raises"


@pytest.mark.parametrize("app", APPS)
def test_no_hook_assigns_to_the_parsed_command_line(app):
    for name, function in overridden_hooks(app_task(app)):
        for node in ast.walk(function):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                assert not (isinstance(target, ast.Attribute) and getattr(target.value, "id", None) == "args"), \
                    f"{app}: {name} assigns args.{target.attr} (resolve it in `data_source`, at the edge)"


@pytest.mark.parametrize("app", APPS)
def test_the_portable_trainer_is_offered_exactly_where_examples_are_token_ids(app):
    task = app_task(app)()
    runner = Runner(task)
    commands = runner.commands()
    assert all((name in commands) == task.token_examples for name in PORTABLE_COMMANDS)
    if not task.token_examples:
        with pytest.raises(UserError, match="the portable trainer packs token ids"):
            runner.main(["pack", "--out", "unused"])


def test_the_data_source_is_resolved_on_a_copy():
    class Defaulting(Task):
        def data_source(self, args, config):
            return args.data or config["training"]["data"]

    args = argparse.Namespace(data=None, command="eval")
    resolved = Runner(Defaulting()).with_data_source(args, {"training": {"data": "corpus"}})
    assert resolved.data == "corpus" and resolved.command == "eval" and args.data is None


# The parsed command line stops at the edge: the runner, the portable trainer, and each app's
# task.py (where the app declares its options and reads them back). Everything below takes named values.
EDGE = {"task.py", "runner.py", "portable_training.py", "cli.py", "__main__.py"}


def test_the_parsed_command_line_stops_at_each_app_task():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "apps"
    inward = [path for path in root.rglob("*.py") if path.name not in EDGE]
    assert len(inward) > 40  # the walk found the apps' modules
    for path in inward:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.Lambda)):
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                assert "args" not in names, f"{path.relative_to(root)}: {getattr(node, 'name', 'lambda')} takes args"
            if isinstance(node, ast.Name) and node.id in ("Namespace", "SimpleNamespace"):
                raise AssertionError(f"{path.relative_to(root)} builds a stand-in for the command line")


def test_compose_takes_a_request_the_page_builds_the_same_way():
    from apps.music.composing import CompositionRequest

    request = CompositionRequest(primer="C4 E4 G4", temperature=0.5, seed=3)
    assert (request.metre, request.key, request.top_k, request.top_p) == (None, None, 0, 1.0)
    with pytest.raises(AttributeError):
        request.seed = 4  # frozen: nothing downstream can rewrite what was asked
