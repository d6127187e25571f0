"""Data beside the specs: a data path may leave the spec's folder but not the project root
(the nearest folder above the spec holding .git or pyproject.toml; `--root` sets it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import gdcheck
from gdcheck.cli import main
from gdcheck.errors import SpecError
from gdcheck.spec.root import project_root, set_root

ROOT = Path(__file__).resolve().parents[2]
RIDGE = (ROOT / "specs" / "ridge.yaml").read_text()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """project/{pyproject.toml, specs/ridge.yaml, data/ridge.csv}: the usual layout."""
    folder = tmp_path / "project"
    (folder / "specs").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    shutil.copy(ROOT / "specs" / "data" / "ridge.csv", folder / "data" / "ridge.csv")
    (folder / "specs" / "ridge.yaml").write_text(
        RIDGE.replace("csv: data/ridge.csv", "csv: ../data/ridge.csv"))
    return folder


def test_data_beside_the_specs_loads(project: Path) -> None:
    spec = gdcheck.load(project / "specs" / "ridge.yaml")
    assert project_root(spec.path) == project.resolve()
    assert gdcheck.compile(spec).samples == 30


def test_without_a_marker_the_root_is_the_specs_folder(project: Path) -> None:
    (project / "pyproject.toml").unlink()   # and tmp_path is not under the current folder
    with pytest.raises(SpecError, match="inside the project root") as error:
        gdcheck.load(project / "specs" / "ridge.yaml")
    assert str((project / "specs").resolve()) in str(error.value)


def test_a_marker_in_the_specs_folder_narrows_the_root(project: Path) -> None:
    (project / "specs" / ".git").mkdir()   # a pull request can add one: it only narrows
    with pytest.raises(SpecError, match="inside the project root"):
        gdcheck.load(project / "specs" / "ridge.yaml")


def test_a_symlink_inside_the_root_to_a_file_outside_is_refused(project: Path,
                                                                tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("x1,x2,price\nTOKEN-1234,1,1\n")
    (project / "data" / "ridge.csv").unlink()
    (project / "data" / "ridge.csv").symlink_to(secret)
    with pytest.raises(SpecError, match="inside the project root") as error:
        gdcheck.load(project / "specs" / "ridge.yaml")   # resolved before the test
    assert "TOKEN" not in str(error.value)


def test_root_option_widens_or_narrows(project: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    spec = str(project / "specs" / "ridge.yaml")
    reports = str(project / "reports")
    assert main(["verify", spec, "--root", str(project / "specs"), "--report-dir",
                 reports]) == 2
    assert "inside the project root" in capsys.readouterr().err
    (project / "pyproject.toml").unlink()
    assert main(["verify", spec, "--root", str(project), "--report-dir", reports]) == 0
    assert main(["verify", spec, "--root", str(project / "nowhere")]) == 2
    assert "--root" in capsys.readouterr().err
    set_root(None)
