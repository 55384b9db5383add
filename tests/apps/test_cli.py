"""The shared command-line plumbing: output paths checked up front, one-line errors, exit codes."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

import runtime
from apps.common.cli import (
    EXIT_USER_ERROR,
    ArgumentParser,
    UserError,
    datasets_package_problem,
    output_directory,
    output_file,
    positive_int,
    run,
)

REPO = Path(__file__).resolve().parents[2]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root may write anywhere
# `pip install -e .` (make setup) resolves our packages with a finder placed after sys.path.
EDITABLE = any(getattr(finder, "__module__", "").startswith("__editable__") for finder in sys.meta_path)


@pytest.fixture
def read_only_dir(tmp_path, monkeypatch):
    """A directory the test process cannot write into (as root, where chmod does not stop
    writing, `os.access` is made to say so)."""
    directory = tmp_path / "locked"
    directory.mkdir()
    if AS_ROOT:
        access = os.access
        monkeypatch.setattr(
            os, "access", lambda path, mode: access(path, mode) and not (Path(path) == directory and mode & os.W_OK)
        )
        yield directory
        return
    directory.chmod(0o555)
    yield directory
    directory.chmod(0o755)


# --- output_file -----------------------------------------------------------------------------


def test_output_file_accepts_a_new_or_existing_file_in_a_writable_directory(tmp_path, monkeypatch):
    assert output_file(str(tmp_path / "map.png")) == str(tmp_path / "map.png")
    (tmp_path / "old.png").write_bytes(b"")
    assert output_file(str(tmp_path / "old.png")) == str(tmp_path / "old.png")
    monkeypatch.chdir(tmp_path)
    assert output_file("here.png") == "here.png"  # no directory part: the working directory


@pytest.mark.parametrize(
    "relative, message",
    [
        ("", "is a directory, not a file"),
        ("missing/dir/x.png", "cannot write {tmp}/missing/dir/x.png: {tmp}/missing/dir does not exist"),
        ("file.txt/x.png", "cannot write {tmp}/file.txt/x.png: {tmp}/file.txt is not a directory"),
    ],
)
def test_output_file_names_the_path_and_the_problem(tmp_path, relative, message):
    (tmp_path / "file.txt").write_text("x")
    path = str(tmp_path / relative) if relative else str(tmp_path)
    with pytest.raises(argparse.ArgumentTypeError) as error:
        output_file(path)
    expected = message.format(tmp=tmp_path)
    assert str(error.value) == (f"{path} {expected}" if not relative else expected)


def test_output_file_in_a_read_only_directory(read_only_dir):
    with pytest.raises(argparse.ArgumentTypeError, match=f"{read_only_dir} is not writable"):
        output_file(str(read_only_dir / "x.png"))


def test_output_file_rejects_an_empty_path():
    with pytest.raises(argparse.ArgumentTypeError, match="expected a file path"):
        output_file("")


# --- output_directory ------------------------------------------------------------------------


def test_output_directory_accepts_existing_and_creatable_directories(tmp_path):
    assert output_directory(str(tmp_path)) == str(tmp_path)
    assert output_directory(str(tmp_path / "a" / "b" / "c")) == str(tmp_path / "a" / "b" / "c")
    assert not (tmp_path / "a").exists()  # checked, not created


def test_output_directory_names_the_path_and_the_problem(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(argparse.ArgumentTypeError) as error:
        output_directory(str(tmp_path / "file.txt"))
    assert str(error.value) == f"{tmp_path}/file.txt exists and is not a directory"
    with pytest.raises(argparse.ArgumentTypeError) as error:
        output_directory(str(tmp_path / "file.txt" / "out"))
    assert str(error.value) == f"cannot create {tmp_path}/file.txt/out: {tmp_path}/file.txt is not a directory"


def test_output_directory_read_only(read_only_dir):
    with pytest.raises(argparse.ArgumentTypeError, match=f"^{read_only_dir} is not writable$"):
        output_directory(str(read_only_dir))
    with pytest.raises(argparse.ArgumentTypeError, match=f"{read_only_dir} is not writable"):
        output_directory(str(read_only_dir / "new" / "deeper"))


def test_path_errors_reach_the_user_as_one_argparse_line(tmp_path):
    parser = ArgumentParser(prog="app")
    parser.add_argument("--out", type=output_directory)
    parser.add_argument("--attention", type=output_file)
    with pytest.raises(UserError, match=r"^argument --out: .*file.txt exists and is not a directory$"):
        (tmp_path / "file.txt").write_text("x")
        parser.parse_args(["--out", str(tmp_path / "file.txt")])
    with pytest.raises(UserError, match=r"^argument --attention: cannot write /nonexistent/dir/x.png: "
                                        r"/nonexistent/dir does not exist$"):
        parser.parse_args(["--attention", "/nonexistent/dir/x.png"])


# --- positive_int and run --------------------------------------------------------------------


def test_positive_int():
    assert positive_int("3") == 3
    for text in ("0", "-2", "two"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a positive integer"):
            positive_int(text)


def test_run_turns_user_errors_into_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.setattr(runtime, "quiet_tensorflow", lambda import_now=True: None)  # keep pytest's stderr as it is

    def main(argv):
        raise UserError(f"bad {argv[0]}")

    assert run(main, ["thing"]) == EXIT_USER_ERROR
    assert capsys.readouterr().err == "error: bad thing\n"
    assert run(lambda argv: None, []) == 0


# --- the `datasets` name ---------------------------------------------------------------------


def test_this_projects_datasets_package_is_found_here():
    assert datasets_package_problem() is None


def translate_cli(cwd, pythonpath):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    return subprocess.run(
        [sys.executable, "-m", "apps.translate", "Hi."], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_foreign_datasets_package_first_on_the_path_stops_every_command(tmp_path):
    # Like Hugging Face's `datasets` on PYTHONPATH; from another directory it comes before
    # ours, which the editable install only finds after sys.path. The repo stays importable
    # (last on the path) in case the project is not installed.
    fake = tmp_path / "site" / "datasets" / "__init__.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("raise RuntimeError('the fake datasets package was imported')\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = translate_cli(elsewhere, [tmp_path / "site", REPO])
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: the package 'datasets' found at {fake} is not this project's (expected {REPO / 'datasets'}): "
        "run from the project directory, or uninstall or move the other package\n"
    )
    assert result.stdout == ""


@pytest.mark.skipif(not EDITABLE, reason="needs the editable install (make setup)")
def test_a_datasets_data_folder_in_the_working_directory_is_reported_too(tmp_path):
    # A plain folder named `datasets` (no __init__.py) is a namespace package; it is only
    # found after every sys.path entry, yet still before the editable install's finder.
    (tmp_path / "datasets").mkdir()
    result = translate_cli(tmp_path, [])
    assert result.returncode == 2, result.stderr
    assert f"found at {tmp_path / 'datasets'} is not this project's" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["eval", "-h"]])
@pytest.mark.parametrize("app", ["translate", "caption", "sentiment", "generate", "music", "dynamics"])
def test_help_answers_at_once_without_tensorflow(app, argv):
    script = (
        "import runpy, sys, time\n"
        "start = time.perf_counter()\n"
        "try:\n"
        f"    runpy.run_module('apps.{app}', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    assert done.code in (0, None), done.code\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n"
        "print(f'seconds {time.perf_counter() - start:.3f}', file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, *argv], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"usage: python -m apps.{app}")
    # Measured 0.1-0.4 s on 2 cores (4.3-5.0 s with TensorFlow); the bound leaves room for a busy machine.
    assert float(result.stderr.split("seconds ")[-1]) < 2.0
