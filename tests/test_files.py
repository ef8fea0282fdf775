"""Run files: uploads, listing, downloads, and every way out of the run's folder refused."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from foundation_helpers import all_files

from run_widgets import Experiment, Run, UserErrorException
from run_widgets.exceptions import ArgumentTypeError, FileNotFoundInRunError


@pytest.fixture
def run(exp: Experiment) -> Iterator[Run]:
    """A running interactive run."""
    started = exp.start_logging(snapshot_directory=None, outputs=False)
    yield started
    started.complete()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small file to upload."""
    path = tmp_path / "src.txt"
    path.write_text("payload", encoding="utf-8")
    return path


def test_upload_file_from_path_and_streams(run: Run, source: Path) -> None:
    assert run.upload_file("outputs/a.txt", str(source)) == "outputs/a.txt"
    run.upload_file("b.bin", io.BytesIO(b"\x00\x01"))
    run.upload_file("c.txt", io.StringIO("text ü"))
    run.upload_file("d.txt", source)  # a Path works too
    with open(source, "rb") as handle:
        run.upload_file("e.txt", handle)
    assert run.get_file_names() == ["b.bin", "c.txt", "d.txt", "e.txt", "outputs/a.txt"]
    assert run.get_file_path("b.bin").read_bytes() == b"\x00\x01"
    assert run.get_file_path("c.txt").read_text(encoding="utf-8") == "text ü"
    assert run.get_file_path("e.txt").read_text(encoding="utf-8") == "payload"


@pytest.mark.parametrize("bad", [5, None, b"bytes", ["a"]])
def test_upload_file_bad_type_v1_message(run: Run, bad: Any) -> None:
    with pytest.raises(ArgumentTypeError) as info:
        run.upload_file("x.txt", bad)
    assert str(info.value) == (
        f"UnsupportedType: type {type(bad)} is invalid, supported input types: file path or file"
    )
    assert run.get_file_names() == []


def test_upload_missing_source(run: Run, tmp_path: Path) -> None:
    with pytest.raises(UserErrorException, match="not a file"):
        run.upload_file("x.txt", tmp_path / "missing")
    with pytest.raises(UserErrorException, match="not a file"):
        run.upload_file("x.txt", tmp_path)  # a directory
    assert run.get_file_names() == []


def test_duplicate_name_conflict(run: Run, source: Path) -> None:
    run.upload_file("a.txt", source)
    with pytest.raises(UserErrorException, match="Resource Conflict"):
        run.upload_file("a.txt", io.BytesIO(b"other"))
    with pytest.raises(UserErrorException, match="Resource Conflict"):
        run.upload_file("./a.txt", io.BytesIO(b"other"))  # same canonical name
    assert run.get_file_path("a.txt").read_text(encoding="utf-8") == "payload"


def test_upload_files(run: Run, tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        path = tmp_path / f"f{i}.txt"
        path.write_text(str(i), encoding="utf-8")
        paths.append(str(path))
    names = run.upload_files(["x/0.txt", "x/1.txt", "x/2.txt"], paths)
    assert names == ["x/0.txt", "x/1.txt", "x/2.txt"]
    assert run.get_file_names() == names


@pytest.mark.parametrize(
    ("names", "paths", "n", "m"),
    [(["a", "b"], ["p"], 2, 1), ([], ["p"], 0, 1), ("ab", ["p", "q"], 2, 2)],
)
def test_upload_files_length_mismatch_v1_message(
    run: Run, names: Any, paths: Any, n: int, m: int
) -> None:
    with pytest.raises(TypeError) as info:
        run.upload_files(names, paths)
    assert str(info.value) == (
        f"names and paths must be lists of equal lengths. Names was of length {n} and paths "
        f"of length {m}."
    )


def test_upload_files_is_all_or_nothing(run: Run, source: Path, tmp_path: Path) -> None:
    run.upload_file("taken.txt", source)
    with pytest.raises(UserErrorException, match="Resource Conflict"):
        run.upload_files(["new.txt", "taken.txt"], [source, source])
    with pytest.raises(UserErrorException, match="not a file"):
        run.upload_files(["new.txt", "new2.txt"], [source, tmp_path / "missing"])
    with pytest.raises(UserErrorException, match="more than once"):
        run.upload_files(["dup.txt", "dup.txt"], [source, source])
    with pytest.raises(UserErrorException, match=r"\.\."):
        run.upload_files(["ok.txt", "../escape.txt"], [source, source])
    assert run.get_file_names() == ["taken.txt"]


def test_upload_folder(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a", encoding="utf-8")
    (folder / "sub" / "b.txt").write_text("b", encoding="utf-8")
    os.symlink(folder / "a.txt", folder / "inner-link.txt")  # inside the folder: fine
    names = run.upload_folder("up", folder)
    assert sorted(names) == ["up/a.txt", "up/inner-link.txt", "up/sub/b.txt"]
    assert run.get_file_path("up/inner-link.txt").read_text(encoding="utf-8") == "a"
    assert not run.get_file_path("up/inner-link.txt").is_symlink()


def test_upload_folder_not_a_directory_v1_message(run: Run, source: Path, tmp_path: Path) -> None:
    for bad in (source, tmp_path / "missing"):
        with pytest.raises(UserErrorException) as info:
            run.upload_folder("x", bad)
        assert str(info.value) == f"Cannot upload path: {bad} since it is not a valid directory."
    assert run.get_file_names() == []


@pytest.mark.fault
@pytest.mark.parametrize("link_kind", ["file", "dir"])
def test_upload_folder_symlink_outside_is_rejected(
    run: Run, tmp_path: Path, link_kind: str
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("top secret", encoding="utf-8")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("a", encoding="utf-8")
    target = secret / "key.txt" if link_kind == "file" else secret
    os.symlink(target, folder / "link")
    with pytest.raises(UserErrorException, match="symbolic links that point outside"):
        run.upload_folder("up", folder)
    assert run.get_file_names() == []
    assert not run.files_dir.exists() or all_files(run.files_dir) == set()


TRAVERSAL_NAMES = [
    "../escape.txt",
    "a/../../escape.txt",
    "..\\escape.txt",
    "a\\..\\..\\escape.txt",
    "/tmp/abs.txt",
    "\\abs.txt",
    "C:\\abs.txt",
    "c:/abs.txt",
    "",
    ".",
    "a/./..",
    "nul\x00.txt",
    "new\nline.txt",
]


@pytest.mark.fault
@pytest.mark.parametrize("name", TRAVERSAL_NAMES)
def test_path_traversal_is_refused(run: Run, source: Path, tmp_path: Path, name: str) -> None:
    before = all_files(tmp_path)
    for call in (
        lambda: run.upload_file(name, source),
        lambda: run.upload_file(name, io.BytesIO(b"x")),
        lambda: run.upload_files([name], [source]),
        lambda: run.download_file(name),
        lambda: run.get_file_path(name),
    ):
        with pytest.raises(UserErrorException):
            call()
    assert all_files(tmp_path) == before
    assert not Path("/tmp/abs.txt").exists()


@pytest.mark.fault
def test_names_through_a_planted_symlink_are_refused(
    run: Run, source: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("original", encoding="utf-8")
    run.upload_file("keep.txt", source)
    os.symlink(outside, run.files_dir / "planted")
    os.symlink(outside / "victim.txt", run.files_dir / "file-link.txt")
    before = all_files(outside)
    with pytest.raises(UserErrorException, match="symbolic link"):
        run.upload_file("planted/new.txt", source)
    with pytest.raises(UserErrorException, match="symbolic link"):
        run.upload_file("planted/victim.txt", io.BytesIO(b"overwrite"))
    with pytest.raises(UserErrorException, match="symbolic link"):
        run.upload_file("file-link.txt", io.BytesIO(b"overwrite"))
    with pytest.raises(UserErrorException, match="symbolic link"):
        run.download_file("planted/victim.txt")
    with pytest.raises(UserErrorException, match="symbolic link"):
        run.get_file_path("file-link.txt")
    assert all_files(outside) == before
    assert (outside / "victim.txt").read_text(encoding="utf-8") == "original"
    # links are not files of the run
    assert run.get_file_names() == ["keep.txt"]


@pytest.mark.fault
def test_run_folder_itself_replaced_by_symlink(run: Run, source: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    run.upload_file("a.txt", source)
    (run.files_dir / "a.txt").unlink()
    run.files_dir.rmdir()
    os.symlink(outside, run.files_dir)
    with pytest.raises(UserErrorException):
        run.upload_file("b.txt", source)
    assert all_files(outside) == set()


def test_get_file_names_skips_temporaries(run: Run, source: Path) -> None:
    run.upload_file("a.txt", source)
    (run.files_dir / ".rw-tmp-123").write_bytes(b"half")
    assert run.get_file_names() == ["a.txt"]
    with pytest.raises(UserErrorException, match="reserved"):
        run.upload_file(".rw-tmp-x", source)


def test_download_file_default_and_directory_destination(
    run: Run, source: Path, tmp_path: Path
) -> None:
    run.upload_file("outputs/model.txt", source)
    path = run.download_file("outputs/model.txt")
    assert Path(path) == Path.cwd() / "model.txt"
    assert Path(path).read_text(encoding="utf-8") == "payload"
    folder = tmp_path / "dl"
    folder.mkdir()
    assert Path(run.download_file("outputs/model.txt", folder)) == folder / "model.txt"
    explicit = tmp_path / "deep" / "renamed.txt"
    assert Path(run.download_file("outputs/model.txt", str(explicit))) == explicit
    assert explicit.read_text(encoding="utf-8") == "payload"


def test_download_missing_lists_available(run: Run, source: Path) -> None:
    run.upload_file("a.txt", source)
    run.upload_file("b/c.txt", source)
    with pytest.raises(FileNotFoundInRunError) as info:
        run.download_file("nope.txt")
    assert str(info.value) == (
        "File with path nope.txt was not found,\navailable files include: a.txt,b/c.txt."
    )
    assert isinstance(info.value, FileNotFoundError)
    assert not (Path.cwd() / "nope.txt").exists()


def test_download_files(run: Run, source: Path, tmp_path: Path) -> None:
    for name in ("outputs/a.txt", "outputs/sub/b.txt", "logs/l.txt"):
        run.upload_file(name, source)
    out = tmp_path / "out"
    got = run.download_files(prefix="outputs", output_directory=out)
    assert sorted(Path(p).relative_to(out).as_posix() for p in got) == [
        "outputs/a.txt",
        "outputs/sub/b.txt",
    ]
    flat = tmp_path / "flat"
    got = run.download_files(prefix="outputs", output_directory=flat, append_prefix=False)
    assert sorted(Path(p).relative_to(flat).as_posix() for p in got) == ["a.txt", "sub/b.txt"]
    everything = run.download_files(output_directory=tmp_path / "all")
    assert len(everything) == 3
    default = run.download_files(prefix="logs")
    assert [Path(p) for p in default] == [Path.cwd() / "logs" / "l.txt"]
    with pytest.raises(FileNotFoundInRunError, match="No file of the run starts with 'zzz'"):
        run.download_files(prefix="zzz", output_directory=tmp_path / "none")


def test_file_names_of_a_run_without_files(run: Run) -> None:
    assert run.get_file_names() == []


def test_file_and_folder_names_cannot_clash(run: Run, source: Path) -> None:
    run.upload_file("a", source)
    run.upload_file("d/x.txt", source)
    with pytest.raises(UserErrorException, match="'a' is a file of the run"):
        run.upload_file("a/b.txt", source)
    with pytest.raises(UserErrorException, match="'d' is a folder of the run"):
        run.upload_file("d", source)
    with pytest.raises(UserErrorException, match="both as a file name and as a folder"):
        run.upload_files(["n", "n/m"], [source, source])
    with pytest.raises(UserErrorException, match="is a file of the run"):
        run.upload_files(["ok.txt", "a/c.txt"], [source, source])
    assert run.get_file_names() == ["a", "d/x.txt"]


def test_stream_failing_midway_leaves_no_partial_file(run: Run) -> None:
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            self.calls += 1
            if self.calls > 2:
                raise OSError("disk went away")
            buffer[:4] = b"data"
            return 4

    with pytest.raises(OSError, match="disk went away"):
        run.upload_file("partial.bin", Failing())
    assert run.get_file_names() == []
    assert not run.files_dir.exists() or all_files(run.files_dir) == set()
    run.upload_file("partial.bin", io.BytesIO(b"whole"))  # the name is still free
    assert run.get_file_path("partial.bin").read_bytes() == b"whole"
