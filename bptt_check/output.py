"""Where ``verify --json`` and ``report -o`` write, checked before any work and written atomically.

One rule for both commands: a path is checked before computing (a bad one fails at once, with
one line), the new content is written next to its place and moved in only when complete, and a
failure leaves neither a temporary file nor half a report, and puts the previous report back.

* a file (:func:`file_target`, :func:`write_text`): a temporary file in the same folder, then
  :func:`os.replace`; a symbolic link to a file is written through, not replaced;
* a folder (:func:`folder_target`, :func:`staged_folder`, :func:`publish_folder`): built in a
  scratch folder, then swapped in with one rename.  Where a rename cannot work — the folder is a
  mount point (a Docker volume: ``EBUSY``) or on another file system (``EXDEV``) — its entries
  are moved into it one by one instead.  A symbolic link to a folder is written through: the
  link stays, the folder it names receives the report.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "OutputError",
    "file_target",
    "folder_target",
    "publish_folder",
    "staged_folder",
    "write_text",
]

#: Prefix of the scratch folders; one left by a killed run is not counted as a foreign file.
SCRATCH = ".bptt-report-"
#: ``rename`` cannot replace this path, but its entries can be moved into it one by one.
_IN_PLACE = (errno.EBUSY, errno.EXDEV)


class OutputError(RuntimeError):
    """The output path cannot be written; the message is one line and names the path."""


def _writable_folder(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def file_target(path: str | os.PathLike[str]) -> Path:
    """The file that writing ``path`` will replace, checked before any work is done.

    >>> file_target("/").name
    Traceback (most recent call last):
    ...
    bptt_check.output.OutputError: / is a folder: give a file name such as /verdicts.json
    """
    given = os.fspath(path)
    target = Path(os.path.abspath(given))
    if target.is_symlink() and target.is_file():  # write through the link, keep the link
        target = Path(os.path.realpath(target))
    if target.is_dir():
        suggestion = os.path.join(given, "verdicts.json")
        raise OutputError(f"{given} is a folder: give a file name such as {suggestion}")
    folder = target.parent
    if not folder.exists():  # the words of strerror(ENOENT), as open() would have said
        raise OutputError(f"cannot write {given}: No such file or directory: {folder}")
    if not folder.is_dir():
        raise OutputError(f"cannot write {given}: {folder} is not a folder")
    if not _writable_folder(folder):
        raise OutputError(f"cannot write {given}: {folder} is not a writable folder")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {given}: the file is read-only")
    return target


def _mode(target: Path) -> int:
    """The mode ``open()`` would give: the old file's, or 0o666 less the umask."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_text(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` (from :func:`file_target`) all at once: into a temporary
    file beside it, then renamed over it.  The temporary file never outlives a failure."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, _mode(target))
        try:
            os.replace(temporary, target)
        except OSError as error:
            if error.errno not in _IN_PLACE:  # a file bind-mounted by itself: written in place
                raise
            target.write_text(text, encoding="utf-8")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def folder_target(directory: str | os.PathLike[str], own: set[str]) -> Path:
    """The folder a report goes into, checked before any work is done.

    A symbolic link to a folder gives that folder (the link stays).  Refused, with one line: a
    path that is a file, a folder holding anything whose name is not in ``own``, a folder that
    cannot be written, and a new folder whose parent cannot be written.
    """
    given = os.fspath(directory)
    target = Path(os.path.abspath(given))
    if target.is_symlink():
        if not target.is_dir():
            raise OutputError(f"{given} is a symbolic link to no folder: choose another -o")
        target = Path(os.path.realpath(target))
    if target.exists() and not target.is_dir():
        raise OutputError(f"{given} exists and is not a folder: choose another -o")
    if target.is_dir():
        foreign = sorted(
            p.name for p in target.iterdir() if p.name not in own and not p.name.startswith(SCRATCH)
        )
        if foreign:
            raise OutputError(
                f"{given} holds files that are not a report ({', '.join(foreign[:3])}): "
                "choose another -o"
            )
        if not _writable_folder(target):
            raise OutputError(f"cannot write into {target}: not a writable folder")
    elif not _writable_folder(target.parent):
        raise OutputError(f"cannot write into {target.parent}: not a writable folder")
    return target


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """An empty folder to build ``target``'s new content in, removed on leaving.

    It lies next to ``target`` (same file system, so publishing is one rename), or inside it when
    only ``target`` itself is writable (a volume mounted under a read-only folder)."""
    base = target.parent if _writable_folder(target.parent) else target
    with tempfile.TemporaryDirectory(prefix=SCRATCH, dir=base) as scratch:
        folder = Path(scratch) / "new"
        folder.mkdir()
        yield folder


def publish_folder(new: Path, target: Path) -> None:
    """Make ``target`` hold exactly what ``new`` holds (``new`` from :func:`staged_folder`).

    One rename swaps the folders; when ``target`` cannot be renamed (a mount point, another file
    system) the entries are moved in one by one.  Either way a failure puts the previous
    content back before the error propagates."""
    previous = new.parent / "previous"
    inside = target in new.parents
    if not inside and not os.path.ismount(target):
        try:
            _swap(new, target, previous)
            return
        except OSError as error:
            if error.errno not in _IN_PLACE:
                raise
    _move_entries(new, target, previous)


def _swap(new: Path, target: Path, previous: Path) -> None:
    if target.exists():
        os.rename(target, previous)
    try:
        os.rename(new, target)
    except OSError:
        if previous.exists():  # put the old report back before failing
            os.rename(previous, target)
        raise


def _move_entries(new: Path, target: Path, previous: Path) -> None:
    scratch = new.parent
    previous.mkdir(exist_ok=True)
    target.mkdir(exist_ok=True)
    old = [p for p in target.iterdir() if p != scratch and not p.name.startswith(SCRATCH)]
    placed: list[Path] = []
    moved: list[Path] = []
    try:
        for path in old:
            shutil.move(path, previous / path.name)
            moved.append(path)
        for path in sorted(new.iterdir()):
            placed.append(target / path.name)
            shutil.move(path, target / path.name)
    except BaseException:  # take the new entries out, put the old ones back, then fail
        for path in placed:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        for path in moved:
            with contextlib.suppress(OSError):  # restore what can be: one failure stops none
                shutil.move(previous / path.name, path)
        raise
