"""bptt_check.output: output paths checked before any work, written atomically, and a report
published into a mount point or through a symbolic link without surprises."""

import errno
import os
import shutil

import pytest

from bptt_check.cli import main
from bptt_check.output import OutputError, file_target, folder_target, write_text

OWN = {"report.tex", "report.pdf", "figures"}


@pytest.fixture
def fast_report(monkeypatch):
    """build_report with its heavy parts replaced (the verdicts, figures, LaTeX): what
    is tested is where the files go.  Each run writes report.tex with the run's number."""
    runs = []

    def figures(verdicts, folder):
        (folder / "a.pdf").write_bytes(b"%PDF figure")

    def render(*args):
        return f"report {len(runs)}"

    monkeypatch.setattr("bptt_check.report.verify", lambda **kwargs: runs.append(1) or [])
    monkeypatch.setattr("bptt_check.report.write_figures", figures)
    monkeypatch.setattr("bptt_check.report.render", render)
    monkeypatch.setattr("bptt_check.report.write_page", lambda *args: None)
    return runs


def report(path, capsys=None) -> int:
    return main(["report", "--no-pdf", "-o", str(path)])


def contents(folder):
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def no_scratch(*folders):
    return not [p for f in folders for p in f.iterdir() if p.name.startswith(".bptt-report-")]


def test_a_new_folder_receives_the_report(fast_report, tmp_path):
    assert report(tmp_path / "out") == 0
    assert contents(tmp_path / "out") == {
        "figures/a.pdf": b"%PDF figure",
        "report.tex": b"report 1",
    }
    assert no_scratch(tmp_path)


def test_a_symlink_to_a_folder_is_written_through(fast_report, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert report(link) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert contents(real)["report.tex"] == b"report 1"
    assert report(link) == 0  # and again, over the first report
    assert link.is_symlink() and contents(real)["report.tex"] == b"report 2"
    assert no_scratch(tmp_path)


def test_a_symlink_to_nothing_is_refused(fast_report, tmp_path, capsys):
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    assert report(tmp_path / "link") == 1
    assert "symbolic link to no folder" in capsys.readouterr().err
    assert fast_report == []


def busy(target):
    """os.rename as on a mount point: the mount point itself cannot be renamed (EBUSY)."""
    real = os.rename

    def rename(src, dst, *args, **kwargs):
        if os.fspath(target) in (os.fspath(src), os.fspath(dst)):
            raise OSError(errno.EBUSY, "Device or resource busy")
        return real(src, dst, *args, **kwargs)

    return rename


@pytest.mark.parametrize("found_by", ["rename fails", "ismount"])
def test_an_empty_mount_point_receives_the_report(found_by, fast_report, tmp_path, monkeypatch):
    volume = tmp_path / "volume"
    volume.mkdir()
    inode = volume.stat().st_ino
    monkeypatch.setattr(os, "rename", busy(volume))
    if found_by == "ismount":
        monkeypatch.setattr(os.path, "ismount", lambda path: os.fspath(path) == str(volume))
    assert report(volume) == 0
    assert volume.stat().st_ino == inode  # the same folder, written into
    assert contents(volume) == {"figures/a.pdf": b"%PDF figure", "report.tex": b"report 1"}
    (volume / "report.pdf").write_bytes(b"old pdf")  # a previous report's file goes
    assert report(volume) == 0
    assert contents(volume) == {"figures/a.pdf": b"%PDF figure", "report.tex": b"report 2"}
    assert no_scratch(tmp_path, volume)


def test_a_volume_under_a_read_only_folder_is_staged_inside_it(fast_report, tmp_path, monkeypatch):
    volume = tmp_path / "volume"
    volume.mkdir()
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path) else real(p, mode)
    )
    monkeypatch.setattr(os, "rename", busy(volume))
    assert report(volume) == 0
    assert contents(volume)["report.tex"] == b"report 1"
    assert no_scratch(tmp_path, volume)


def test_a_failed_move_into_a_mount_point_restores_the_previous_report(
    fast_report, tmp_path, monkeypatch, capsys
):
    volume = tmp_path / "volume"
    volume.mkdir()
    monkeypatch.setattr(os, "rename", busy(volume))
    assert report(volume) == 0
    before = contents(volume)
    real_move = shutil.move

    def move(src, dst, *args, **kwargs):
        if os.fspath(dst) == str(volume / "report.tex") and "new" in str(src):  # not the restore
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_move(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "move", move)
    assert report(volume) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("bptt-check report: ")
    assert contents(volume) == before
    assert no_scratch(tmp_path, volume)


def test_a_failed_rename_restores_the_previous_report(fast_report, tmp_path, monkeypatch):
    target = tmp_path / "out"
    assert report(target) == 0
    before = contents(target)
    real = os.rename

    def rename(src, dst):
        if os.fspath(dst) == str(target) and os.path.basename(src) == "new":  # not the restore
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    assert report(target) == 1
    assert contents(target) == before
    assert no_scratch(tmp_path)


@pytest.mark.parametrize("case", ["file", "foreign files", "parent missing", "parent unwritable"])
def test_a_bad_report_folder_fails_before_any_work(
    case, fast_report, tmp_path, monkeypatch, capsys
):
    target = {"file": tmp_path / "notes.txt", "parent missing": tmp_path / "no" / "out"}.get(
        case, tmp_path / "out"
    )
    (tmp_path / "notes.txt").write_text("keep me")
    if case == "foreign files":
        (target / "src").mkdir(parents=True)
    if case == "parent unwritable":  # chmod would not stop root: the check is what is tested
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path) else real(p, mode)
        )
    assert report(target) == 1
    assert fast_report == []  # nothing was computed
    err = capsys.readouterr().err
    assert err.startswith("bptt-check report: ") and err.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "keep me"


# ---- files ---------------------------------------------------------------------------------


def test_write_text_replaces_atomically_and_keeps_the_mode(tmp_path):
    path = tmp_path / "v.json"
    path.write_text("old")
    path.chmod(0o600)
    write_text(file_target(path), "new")
    assert path.read_text() == "new" and (path.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["v.json"]


def test_a_symlink_to_a_file_is_written_through(tmp_path):
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("old")
    link.symlink_to(real)
    write_text(file_target(link), "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_file_mounted_by_itself_is_written_in_place(tmp_path, monkeypatch):
    path = tmp_path / "v.json"
    path.write_text("old")

    def replace(src, dst):
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(os, "replace", replace)
    write_text(file_target(path), "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["v.json"]


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def chmod(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "chmod", chmod)
    with pytest.raises(KeyboardInterrupt):
        write_text(file_target(tmp_path / "v.json"), "new")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("folder", "is a folder: give a file name"),
        ("file/v.json", "file is not a folder"),
        ("missing/v.json", "No such file or directory: .*missing$"),
    ],
)
def test_file_target_refuses_in_one_line(name, message, tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=message) as error:
        file_target(tmp_path / name)
    assert "\n" not in str(error.value)


def test_folder_target_ignores_a_scratch_folder_left_by_a_killed_run(tmp_path):
    (tmp_path / "out" / ".bptt-report-abc").mkdir(parents=True)
    assert folder_target(tmp_path / "out", OWN) == tmp_path / "out"
