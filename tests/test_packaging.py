"""The bundle's install.sh / uninstall.sh, tried on a fake bundle (no PyInstaller build) in a temporary HOME.

The fake bundle has the real scripts and desktop files (laid out by packaging/layout.py, as nnviz.spec does)
and a stand-in ``nnviz`` executable that records its arguments, so "launching from the installed launcher"
is checked by running the installed .desktop file's Exec line.
"""
import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging"))
from layout import BUNDLE_FILES, copy_bundle_files  # noqa: E402

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the bundle is for Linux")

FAKE_EXE = """#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/launched-with.txt"
"""


@pytest.fixture
def bundle(tmp_path):
    """An unpacked bundle in a folder whose name has a space and a quote (the launcher must cope)."""
    folder = tmp_path / "my apps" / "nnviz-0.1.0 'x'"
    folder.mkdir(parents=True)
    copy_bundle_files(str(ROOT), str(folder))
    exe = folder / "nnviz"
    exe.write_text(FAKE_EXE)
    exe.chmod(0o755)
    return folder


def _env(home, path_dirs=()):
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(d) for d in path_dirs] + ["/usr/bin", "/bin"])
    return env


def _run(script, env):
    return subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, env=env, timeout=60)


def _desktop_entry(path):
    parser = configparser.RawConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def _exec_argv(exec_value, file_arg):
    """The Exec line as a launcher runs it: the value's backslash escapes, then quoting, then %f."""
    value = exec_value.replace("\\\\", "\\")          # a string value's escapes (\\ -> \)
    argv = shlex.split(value)                           # the spec's quoting is a subset of the shell's
    return [file_arg if a == "%f" else a for a in argv]


def test_bundle_layout_sources_exist():
    for src, dest, _ in BUNDLE_FILES:
        assert (ROOT / src).is_file(), src
    spec = (ROOT / "packaging" / "nnviz.spec").read_text()
    assert "copy_bundle_files" in spec


def test_install_launch_and_uninstall_in_a_temporary_home(tmp_path, bundle):
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home)
    result = _run(bundle / "install.sh", env)
    assert result.returncode == 0, result.stderr
    data = home / ".local" / "share"
    desktop = data / "applications" / "nnviz.desktop"
    icon = data / "icons" / "hicolor" / "256x256" / "apps" / "nnviz.png"
    mime = data / "mime" / "packages" / "nnviz.xml"
    command = home / ".local" / "bin" / "nnviz"
    for path in (desktop, icon, mime):
        assert path.is_file(), path
    assert os.readlink(command) == str(bundle / "nnviz")
    assert "application/x-nnviz" in mime.read_text() and "*.nnviz" in mime.read_text()
    assert icon.read_bytes() == (ROOT / "nnviz" / "resources" / "nnviz.png").read_bytes()

    entry = _desktop_entry(desktop)
    assert entry["TryExec"] == str(bundle / "nnviz")
    assert entry["MimeType"] == "application/x-nnviz;" and entry["Icon"] == "nnviz"
    # "double-clicking a .nnviz file": the launcher runs the bundle's executable with the file
    argv = _exec_argv(entry["Exec"], "/data/lesson one.nnviz")
    assert argv == [str(bundle / "nnviz"), "/data/lesson one.nnviz"]
    subprocess.run(argv, check=True, timeout=30)
    assert (bundle / "launched-with.txt").read_text() == "/data/lesson one.nnviz\n"
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    # the default application for the type
    assert "application/x-nnviz=nnviz.desktop" in (home / ".config" / "mimeapps.list").read_text()

    # installing twice is harmless (no duplicate default line)
    assert _run(bundle / "install.sh", env).returncode == 0
    assert (home / ".config" / "mimeapps.list").read_text().count("application/x-nnviz=") == 1

    result = _run(bundle / "uninstall.sh", env)
    assert result.returncode == 0, result.stderr
    for path in (desktop, icon, mime, command):
        assert not os.path.lexists(path), path
    assert "application/x-nnviz" not in (home / ".config" / "mimeapps.list").read_text()
    assert (bundle / "nnviz").is_file() and (bundle / "install.sh").is_file()   # the bundle stays


def test_install_respects_xdg_dirs_and_the_users_own_choices(tmp_path, bundle):
    home = tmp_path / "home"
    (home / "cfg").mkdir(parents=True)
    mimeapps = home / "cfg" / "mimeapps.list"
    mimeapps.write_text("[Default Applications]\ntext/plain=gedit.desktop\n\n[Added Associations]\n"
                        "image/png=eog.desktop;\n")
    env = _env(home)
    env.update(XDG_DATA_HOME=str(home / "xdata"), XDG_CONFIG_HOME=str(home / "cfg"))
    assert _run(bundle / "install.sh", env).returncode == 0
    assert (home / "xdata" / "applications" / "nnviz.desktop").is_file()
    text = mimeapps.read_text()
    assert "text/plain=gedit.desktop" in text and "image/png=eog.desktop;" in text
    section = text.split("[Added Associations]")[0]
    assert "application/x-nnviz=nnviz.desktop" in section          # in [Default Applications]
    # a command the user put in ~/.local/bin themselves is not removed by uninstall
    bin_ = home / ".local" / "bin"
    (bin_ / "nnviz").unlink()
    (bin_ / "nnviz").write_text("#!/bin/sh\necho mine\n")
    assert _run(bundle / "uninstall.sh", env).returncode == 0
    assert (bin_ / "nnviz").read_text() == "#!/bin/sh\necho mine\n"
    assert mimeapps.read_text() == "[Default Applications]\ntext/plain=gedit.desktop\n\n[Added Associations]\n" \
        "image/png=eog.desktop;\n"


def test_a_user_choice_for_nnviz_files_is_kept(tmp_path, bundle):
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    mimeapps = home / ".config" / "mimeapps.list"
    mimeapps.write_text("[Default Applications]\napplication/x-nnviz=my-editor.desktop\n")
    env = _env(home)
    assert _run(bundle / "install.sh", env).returncode == 0
    assert _run(bundle / "uninstall.sh", env).returncode == 0
    assert mimeapps.read_text() == "[Default Applications]\napplication/x-nnviz=my-editor.desktop\n"


def test_desktop_database_tools_are_used_if_present(tmp_path, bundle):
    tools = tmp_path / "tools"
    tools.mkdir()
    log = tmp_path / "calls.txt"
    for name in ("update-mime-database", "update-desktop-database"):
        tool = tools / name
        tool.write_text(f"#!/bin/sh\necho {name} \"$@\" >> '{log}'\n")
        tool.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home, [tools])
    assert _run(bundle / "install.sh", env).returncode == 0
    data = home / ".local" / "share"
    assert log.read_text().splitlines() == [f"update-mime-database {data / 'mime'}",
                                            f"update-desktop-database {data / 'applications'}"]
    assert _run(bundle / "uninstall.sh", env).returncode == 0
    assert len(log.read_text().splitlines()) == 4


def test_real_mime_database_registers_the_type(tmp_path, bundle):
    if not shutil.which("update-mime-database"):
        pytest.skip("shared-mime-info is not installed here")
    home = tmp_path / "home"
    home.mkdir()
    assert _run(bundle / "install.sh", _env(home)).returncode == 0
    assert (home / ".local" / "share" / "mime" / "application" / "x-nnviz.xml").is_file()


def test_install_refuses_to_run_outside_a_bundle(tmp_path):
    script = tmp_path / "install.sh"
    shutil.copy(ROOT / "packaging" / "install.sh", script)
    home = tmp_path / "home"
    home.mkdir()
    result = _run(script, _env(home))
    assert result.returncode == 1 and "run me from the unpacked nnviz bundle" in result.stderr
    assert list(home.iterdir()) == []


def test_shell_scripts_parse():
    for name in ("build.sh", "ci_check.sh"):
        assert subprocess.run(["bash", "-n", str(ROOT / "packaging" / name)]).returncode == 0, name
    for name in ("install.sh", "uninstall.sh"):
        assert subprocess.run(["/bin/sh", "-n", str(ROOT / "packaging" / name)]).returncode == 0, name
