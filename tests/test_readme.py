"""README.md stays true: its Python example runs, and CI runs its test command."""
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_api_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no Python example"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    trainer = namespace["trainer"]
    assert trainer.epoch == 400 and namespace["image"].shape == (100, 100)
    assert trainer.config.optimizer.learning_rate == 0.003


def test_ci_runs_the_readme_test_command():
    extract = ROOT / ".ci" / "run"
    script = extract.read_text()
    awk = re.search(r"cmd=\$\(awk '(.*?)' README.md\)", script).group(1)
    cmd = subprocess.run(["awk", awk, str(ROOT / "README.md")], capture_output=True, text=True).stdout.strip()
    assert "pytest" in cmd and "pip install" in cmd
    assert cmd in README
