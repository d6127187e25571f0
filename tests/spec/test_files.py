"""Every file gdcheck reads is checked before it is opened (spec/source.py `checked_file`,
spec/sources.py, spec/datafiles.py, spec/discovery.py).

The hostile files are real, made in tmp_path: symlinks to a secret outside the spec's folder,
FIFOs, folders, a NUL in a data path, sparse files of gigabytes, an npz whose header claims
10¹² rows, a folder chain 1,100 deep. Each must give a SpecError (or DataError) naming the
file, never a traceback, never the secret's content, and never block: `no_hang` turns a hang
into a failure.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gdcheck import defaults
from gdcheck.errors import DataError, SpecError, UsageError
from gdcheck.spec import datafiles, load
from gdcheck.spec.data import load_data
from gdcheck.spec.discovery import spec_paths

SECRET = "hunter2-TOKEN-0123456789abcdef"
PASSWD = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"

SPEC = """gdcheck: 1
name: files
parameters: {w: {shape: [2]}, b: {}}
inputs: {x: {shape: [2]}}
target: {y: {}}
model: dot(w, x) + b
loss: (y - y_pred)**2
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
"""
CSV_DATA = "data: {csv: d.csv, columns: {x: [x1, x2], y: y}}\n"
NPZ_DATA = "data: {npz: d.npz}\n"
CSV_OK = "x1,x2,y\n1,2,0\n3,4,1\n"


@contextlib.contextmanager
def no_hang(seconds: int = 5) -> Iterator[None]:
    """Fail, instead of blocking the suite, if the block takes longer than `seconds`."""
    def interrupt(signum: int, frame: object) -> None:
        raise TimeoutError(f"blocked for more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """(the spec folder, a secret file outside it)."""
    specs = tmp_path / "specs"
    specs.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "token.txt"
    secret.write_text(SECRET + "\n" + PASSWD)
    return specs, secret


def spec_with(folder: Path, data: str, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(SPEC + data)
    return path


def assert_quiet(message: str) -> None:
    """The message quotes nothing of the secret, nor more than an excerpt of a file."""
    assert SECRET not in message and "hunter2" not in message
    assert "daemon" not in message


# ----------------------------------------------------------------- spec files


def test_a_spec_symlinked_to_a_secret_outside_its_folder_is_not_read(folders) -> None:
    specs, secret = folders
    link = specs / "spec.yaml"
    link.symlink_to(secret)
    with no_hang(), pytest.raises(SpecError) as caught:
        load(link)
    message = str(caught.value)
    assert message.startswith(f"{link}: file: ") and "outside its folder" in message
    assert_quiet(message)


def derive(path: Path) -> int | None:
    from gdcheck.cli import main  # only these tests need the whole package
    return main(["derive", str(path)])


def test_the_command_line_refuses_it_with_status_2_and_no_secret(folders, capsys) -> None:
    specs, secret = folders
    link = specs / "spec.yaml"
    link.symlink_to(secret)
    with no_hang():
        status = derive(link)
    output = capsys.readouterr()
    assert status == 2 and "Traceback" not in output.err
    assert f"Error: {link}: file:" in output.err
    assert_quiet(output.out + output.err)


def test_a_spec_symlinked_inside_its_folder_is_read(folders) -> None:
    specs, _ = folders
    (specs / "v2").mkdir()
    spec_with(specs / "v2", CSV_DATA)
    (specs / "latest.yaml").symlink_to("v2/spec.yaml")
    assert load(specs / "latest.yaml").name == "files"


@pytest.mark.parametrize("make, kind", [
    (os.mkfifo, "a FIFO"),
    (os.mkdir, "a folder"),
])
def test_a_spec_that_is_no_regular_file_is_refused_without_opening_it(
        folders, make, kind: str) -> None:
    specs, _ = folders
    path = specs / "spec.yaml"
    make(path)
    with no_hang(), pytest.raises(SpecError, match=f"{kind}, not a regular file"):
        load(path)


def test_a_spec_over_one_mib_is_refused_by_its_size_before_reading(folders) -> None:
    specs, _ = folders
    path = specs / "spec.yaml"
    with open(path, "w") as file:
        file.write(SPEC)
        file.truncate(2 * 10**9)   # sparse: 2 GB that take no disk
    with no_hang(), pytest.raises(SpecError, match="1 MiB") as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: file: ")


def test_a_message_quotes_only_an_excerpt_of_the_spec(folders) -> None:
    specs, _ = folders
    path = specs / "spec.yaml"
    path.write_text(PASSWD.replace("\n", " ") * 100)   # one long scalar: not a mapping
    with pytest.raises(SpecError, match="expected a mapping") as caught:
        load(path)
    message = str(caught.value)
    assert "got 'root:x:0:0:root:/root:/bin/bash daemon:x…'" in message   # 40 characters
    assert "nologin" not in message and len(message) < len(str(path)) + 120


# ----------------------------------------------------------------- data paths


@pytest.mark.parametrize("written, fragment", [
    ("a\u0000b.csv", "NUL character"),
    ("../outside/token.txt", "inside the project root"),
    ("/etc/passwd", "inside the project root"),
])
def test_a_bad_data_path_is_an_error_naming_the_field(folders, written: str, fragment) -> None:
    specs, _ = folders
    escaped = written.replace("\u0000", "\\0")
    path = spec_with(specs, f'data: {{csv: "{escaped}", columns: {{x: [x1, x2], y: y}}}}\n')
    with pytest.raises(SpecError, match=fragment) as caught:
        load(path)
    assert caught.value.location.field == "data.csv"
    assert f"{path}:9: data.csv: " in str(caught.value)


def test_a_nul_in_a_data_path_exits_with_status_2(folders, capsys) -> None:
    specs, _ = folders
    path = spec_with(specs, 'data: {csv: "a\\0b.csv", columns: {x: [x1, x2], y: y}}\n')
    assert derive(path) == 2
    error = capsys.readouterr().err
    assert "data.csv" in error and "NUL" in error and "Traceback" not in error


@pytest.mark.parametrize("data, name", [(CSV_DATA, "d.csv"), (NPZ_DATA, "d.npz")])
@pytest.mark.parametrize("make, kind", [(os.mkfifo, "a FIFO"), (os.mkdir, "a folder")])
def test_a_data_file_that_is_no_regular_file_is_refused_without_blocking(
        folders, data: str, name: str, make, kind: str) -> None:
    specs, _ = folders
    spec = load(spec_with(specs, data))
    make(specs / name)
    with no_hang(), pytest.raises(DataError, match=f"{kind}, not a regular file") as caught:
        load_data(spec)
    assert str(specs / name) in str(caught.value)


@pytest.mark.parametrize("data, name", [(CSV_DATA, "d.csv"), (NPZ_DATA, "d.npz")])
def test_a_data_file_turned_into_a_symlink_after_loading_is_still_refused(
        folders, data: str, name: str) -> None:
    specs, secret = folders
    (specs / name).write_text(CSV_OK)
    spec = load(spec_with(specs, data))   # the path was checked here...
    (specs / name).unlink()
    (specs / name).symlink_to(secret)     # ...and the file is checked again when read
    with pytest.raises(DataError, match="leads outside the project root") as caught:
        load_data(spec)
    assert_quiet(str(caught.value))


# ----------------------------------------------------------------- memory


@pytest.fixture
def no_address_limit(monkeypatch) -> None:
    """This process as if no `ulimit -v` were set: the data limit is then defaults.MEMORY."""
    unlimited = (datafiles.resource.RLIM_INFINITY, datafiles.resource.RLIM_INFINITY)
    monkeypatch.setattr(datafiles.resource, "getrlimit", lambda kind: unlimited)


@pytest.mark.usefixtures("no_address_limit")
def test_a_sparse_2_gb_csv_is_refused_by_its_size_up_front(folders) -> None:
    specs, _ = folders
    with open(specs / "d.csv", "w") as file:
        file.write("x1,x2,y\n")
        file.truncate(2 * 10**9)
    spec = load(spec_with(specs, CSV_DATA))
    with no_hang(), pytest.raises(DataError, match="more than the limit of 4 GiB") as caught:
        load_data(spec)
    assert f"csv file {specs / 'd.csv'} (2000000000 bytes)" in str(caught.value)


def test_the_limit_is_the_address_space_limit_a_run_sets(folders, no_address_limit,
                                                         monkeypatch) -> None:
    specs, _ = folders
    assert datafiles.memory_limit() == defaults.MEMORY == 4 * 1024**3   # none set
    limited = (512 * 1024**2, datafiles.resource.RLIM_INFINITY)   # as `--memory 512M` sets
    monkeypatch.setattr(datafiles.resource, "getrlimit", lambda kind: limited)
    assert datafiles.memory_limit() == 512 * 1024**2
    with open(specs / "d.csv", "w") as file:
        file.write("x1,x2,y\n")
        file.truncate(200 * 10**6)   # 200 MB: fine under 4 GiB, not under 512 MiB
    with pytest.raises(DataError, match="more than the limit of 512 MiB"):
        load_data(load(spec_with(specs, CSV_DATA)))


def test_a_csv_row_longer_than_the_limit_is_refused_before_it_is_split(folders) -> None:
    specs, _ = folders
    (specs / "d.csv").write_text("x1,x2,y\n" + "1," * (datafiles.MAX_CSV_ROW // 2) + "1\n")
    with pytest.raises(DataError, match="line 2: a row longer than 1048576 characters"):
        load_data(load(spec_with(specs, CSV_DATA)))


def forged_npy(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    """A .npy header claiming `shape`, followed by a few bytes of data, not the claimed ones."""
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        stream, {"descr": dtype, "fortran_order": False, "shape": shape})
    return stream.getvalue() + b"\0" * 48


def write_npz(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


@pytest.mark.usefixtures("no_address_limit")
def test_an_npz_header_claiming_a_trillion_rows_is_refused_before_loading(folders) -> None:
    specs, _ = folders
    y = io.BytesIO()
    np.save(y, np.zeros(3))
    write_npz(specs / "d.npz", {"x.npy": forged_npy((10**12, 2)), "y.npy": y.getvalue()})
    spec = load(spec_with(specs, NPZ_DATA))
    with no_hang(), pytest.raises(DataError, match="more than the limit of 4 GiB") as caught:
        load_data(spec)
    assert f"the arrays of {specs / 'd.npz'} (by their headers)" in str(caught.value)


def test_a_single_npy_with_a_forged_header_is_refused_unread(folders) -> None:
    specs, _ = folders
    (specs / "d.npz").write_bytes(forged_npy((10**12, 3)))
    with no_hang(), pytest.raises(DataError, match="holds a single array, not an npz archive"):
        load_data(load(spec_with(specs, NPZ_DATA)))


@pytest.mark.parametrize("member, fragment", [
    (forged_npy((3, 2), "|O"), "object arrays and pickles are never loaded"),
    (forged_npy((3, 2), "<c16"), "has dtype complex128; expected integers or floats"),
    (forged_npy((3, 2))[:-40], "cannot load array 'x'"),   # data shorter than the header says
    (b"not an array " + SECRET.encode() * 10, "cannot load array 'x'"),
])
def test_a_bad_npz_member_is_refused_with_the_array_named(folders, member, fragment) -> None:
    specs, _ = folders
    write_npz(specs / "d.npz", {"x.npy": member, "y.npy": forged_npy((3,))})
    with pytest.raises(DataError, match=fragment) as caught:
        load_data(load(spec_with(specs, NPZ_DATA)))
    assert str(specs / "d.npz") in str(caught.value)
    assert str(caught.value).count("TOKEN") <= 1   # an excerpt of it at most


def test_npz_and_csv_data_still_load(folders) -> None:
    specs, _ = folders
    np.savez(specs / "d.npz", x=np.arange(6).reshape(3, 2), y=np.ones(3, dtype=np.float32))
    arrays = load_data(load(spec_with(specs, NPZ_DATA)))
    np.testing.assert_array_equal(arrays["x"], [[0, 1], [2, 3], [4, 5]])
    assert arrays["y"].dtype == np.float64
    (specs / "d.csv").write_text("y,x2,x1\n0,2,1\n1,4,3\n")
    arrays = load_data(load(spec_with(specs, CSV_DATA, "other.yaml")))
    np.testing.assert_array_equal(arrays["x"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(arrays["y"], [0, 1])


def test_a_csv_message_quotes_an_excerpt_of_a_cell(folders) -> None:
    specs, _ = folders
    (specs / "d.csv").write_text(f"x1,x2,y\n1,2,0\n3,{SECRET * 20},1\n")
    with pytest.raises(DataError, match="row 2 .line 3., column 'x2': got 'hunter2") as caught:
        load_data(load(spec_with(specs, CSV_DATA)))
    assert f"got '{(SECRET * 2)[:40]}…'" in str(caught.value)   # 40 characters of the cell
    assert len(str(caught.value)) < 300


# ----------------------------------------------------------------- discovery


def test_discovery_reports_entries_it_cannot_use_and_verifies_the_rest(folders) -> None:
    specs, secret = folders
    good = spec_with(specs, CSV_DATA, "good.yaml")
    (specs / "dangling.yaml").symlink_to("nowhere.yaml")
    (specs / "leak.yaml").symlink_to(secret)
    os.mkfifo(specs / "pipe.yml")
    (specs / "vendor").symlink_to(secret.parent, target_is_directory=True)
    (specs / "notes.txt").symlink_to("nowhere.txt")   # not a spec: ignored
    with no_hang():
        found = spec_paths([str(specs)])
    assert found.paths == [good]
    assert sorted(found.problems) == sorted(
        specs / name for name in ("dangling.yaml", "leak.yaml", "pipe.yml", "vendor"))
    assert "dangling symlink (to 'nowhere.yaml')" in found.problems[specs / "dangling.yaml"]
    assert "outside its folder" in found.problems[specs / "leak.yaml"]
    assert "a FIFO, not a regular file" in found.problems[specs / "pipe.yml"]
    assert "a symlink to a folder outside" in found.problems[specs / "vendor"]
    for path, message in found.problems.items():
        assert message.startswith(f"{path}: ") and "\n" not in message
        assert_quiet(message)


def test_a_named_entry_that_cannot_be_used_is_a_problem_too(folders) -> None:
    specs, secret = folders
    (specs / "leak.yaml").symlink_to(secret)
    os.mkfifo(specs / "pipe.yaml")
    with no_hang():
        found = spec_paths([str(specs / "leak.yaml"), str(specs / "pipe.yaml")])
    assert found.paths == [] and list(found.problems) == [specs / "leak.yaml",
                                                          specs / "pipe.yaml"]


def test_a_spec_reached_twice_is_verified_once(folders) -> None:
    specs, _ = folders
    (specs / "b").mkdir()
    a = spec_with(specs, CSV_DATA, "a.yaml")
    b = spec_with(specs / "b", CSV_DATA, "b.yml")
    (specs / "alias.yaml").symlink_to("a.yaml")
    (specs / "b-again").symlink_to("b", target_is_directory=True)   # inside: not entered
    found = spec_paths([str(a), str(specs), f"{specs}/./b"])
    assert found.paths == [a, b] and found.problems == {}


def test_arguments_keep_their_order_and_folders_are_sorted(folders) -> None:
    specs, _ = folders
    for name in ("z.yaml", "a.yml", "m/b.yaml", "m/a.yaml"):
        (specs / name).parent.mkdir(exist_ok=True)
        (specs / name).write_text(SPEC)
    lone = specs.parent / "lone.yaml"
    lone.write_text(SPEC)
    found = spec_paths([str(lone), str(specs)])
    assert found.paths == [lone] + [specs / name for name in
                                    ("a.yml", "m/a.yaml", "m/b.yaml", "z.yaml")]


def test_a_folder_chain_1100_deep_is_walked_without_recursion(tmp_path: Path) -> None:
    deepest = tmp_path / "chain"
    os.mkdir(deepest)
    for _ in range(1100):   # os.makedirs and Path.mkdir(parents=True) recurse
        deepest = deepest / "d"
        os.mkdir(deepest)
    (deepest / "deep.yaml").write_text(SPEC)
    try:
        found = spec_paths([str(tmp_path / "chain")])
        assert found.paths == [deepest / "deep.yaml"] and found.problems == {}
    finally:   # shutil.rmtree recurses too: leave pytest a shallow tree to remove
        (deepest / "deep.yaml").unlink()
        while deepest != tmp_path:
            os.rmdir(deepest)
            deepest = deepest.parent


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_folder_is_a_problem(folders) -> None:
    specs, _ = folders
    spec_with(specs, CSV_DATA)
    (specs / "locked").mkdir()
    (specs / "locked").chmod(0)
    try:
        found = spec_paths([str(specs)])
    finally:
        (specs / "locked").chmod(0o755)
    assert "cannot list the folder" in found.problems[specs / "locked"]


@pytest.mark.parametrize("setup, argument, message", [
    (lambda folder: None, "missing.yaml", "no such file or folder: "),
    (lambda folder: None, "a\0b", "no such file or folder: "),
    (lambda folder: (folder / "empty").mkdir(), "empty", "no *.yaml or *.yml spec files"),
    (lambda folder: (folder / "text").mkdir() or (folder / "text" / "a.txt").write_text(""),
     "text", "no *.yaml or *.yml spec files"),
])
def test_a_usage_error_for_nothing_to_verify(tmp_path: Path, setup, argument, message) -> None:
    setup(tmp_path)
    with pytest.raises(UsageError) as caught:
        spec_paths([str(tmp_path / argument)])
    assert message in str(caught.value)
