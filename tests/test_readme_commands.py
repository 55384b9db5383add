"""`benchmarks.readme_commands` reads every command of the README and records what one gives."""

from benchmarks import readme_commands


def test_every_readme_command_is_read_whole_and_the_runnable_ones_are_most():
    commands = readme_commands.readme_commands(readme_commands.REPO / "README.md")
    assert all(argv[0] == "-m" and argv[1].startswith("apps.") for argv in commands)
    joined = [argv for argv in commands if "--positive-above" in argv]  # written over two lines
    assert joined and joined[0][-2:] == ["--out", "runs/mine"]
    assert not any(word.startswith("#") for argv in commands for word in argv)  # comments dropped
    runnable = [argv for argv in commands if readme_commands.runnable(argv, with_eval=False, with_export=False)]
    assert 15 <= len(runnable) < len(commands)
    assert not any("train" in argv or "eval" in argv for argv in runnable)


def test_a_record_holds_the_status_the_output_and_what_was_written(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "reviews.txt").write_text("kept as it is\n")
    record = readme_commands.run_one(["-m", "apps.sentiment", "--help"], inputs, [])
    lines = record.splitlines()
    assert lines[:3] == ["$ -m apps.sentiment --help", "exit status 0", "--- stdout"]
    assert "usage: python -m apps.sentiment" in record and lines[-1] == "--- files written"
    record = readme_commands.run_one(["-m", "apps.sentiment", "--explain", "x.png", ""], inputs, [])
    assert "exit status 2" in record and "\nerror: " in record
