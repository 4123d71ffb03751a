"""File listing rules."""

import os

import pytest

from napari_thunder.io.listing import list_files


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return str(path)


@pytest.fixture
def tree(tmp_path):
    """a.tif b.tiff c.bin d.TIF conf.json sub/e.tif sub/deep/f.tif sub/g.bin .hidden.tif, dir x.tif/"""
    for name in ["b.tiff", "a.tif", "c.bin", "d.TIF", "conf.json", "sub/e.tif", "sub/deep/f.tif", "sub/g.bin",
                 ".hidden.tif"]:
        touch(tmp_path / name)
    (tmp_path / "x.tif").mkdir()
    return tmp_path


def names(files, root):
    return [os.path.relpath(f, root) for f in files]


def test_directory_with_ext_lists_matching_files_sorted(tree):
    assert names(list_files(str(tree), ext="bin"), tree) == ["c.bin"]


def test_tif_matches_tiff_and_tiff_matches_tif(tree):
    expected = ["a.tif", "b.tiff", "d.TIF"]
    assert names(list_files(tree, ext="tif"), tree) == expected
    assert names(list_files(tree, ext="tiff"), tree) == expected


def test_no_ext_lists_all_files_but_not_directories_or_hidden(tree):
    assert names(list_files(tree), tree) == ["a.tif", "b.tiff", "c.bin", "conf.json", "d.TIF"]


def test_results_are_absolute_and_sorted_by_full_path(tree):
    files = list_files(tree, ext="tif", recursive=True)
    assert all(os.path.isabs(f) for f in files)
    assert files == sorted(files)


def test_recursive_walks_subdirectories(tree):
    assert names(list_files(tree, ext="tif", recursive=True), tree) == [
        "a.tif", "b.tiff", "d.TIF", os.path.join("sub", "deep", "f.tif"), os.path.join("sub", "e.tif")]
    assert names(list_files(tree, ext="bin", recursive=True), tree) == ["c.bin", os.path.join("sub", "g.bin")]


def test_glob_pattern_does_not_apply_ext(tree):
    # Thunder's rule: ext is not applied to explicit files/patterns (conf.json comes along)
    assert names(list_files(str(tree / "*"), ext="bin"), tree) == [
        "a.tif", "b.tiff", "c.bin", "conf.json", "d.TIF"]
    assert names(list_files(str(tree / "sub" / "*.bin")), tree) == [os.path.join("sub", "g.bin")]


def test_explicit_file_is_listed_whatever_ext(tree):
    assert names(list_files(str(tree / "c.bin"), ext="tif"), tree) == ["c.bin"]


def test_start_stop_slice_the_sorted_list(tree):
    every = names(list_files(tree), tree)
    assert names(list_files(tree, start=1, stop=3), tree) == every[1:3]
    assert names(list_files(tree, start=2), tree) == every[2:]
    assert names(list_files(tree, stop=2), tree) == every[:2]
    assert names(list_files(tree, start=-2), tree) == every[-2:]
    # Thunder's `if start or stop`: stop=0 means "no stop"
    assert names(list_files(tree, start=0, stop=0), tree) == every


def test_start_stop_selecting_nothing_is_an_error(tree):
    with pytest.raises(ValueError, match="start=10"):
        list_files(tree, start=10)


def test_non_integer_start_is_rejected(tree):
    with pytest.raises(ValueError, match="start"):
        list_files(tree, start=1.5)


def test_file_scheme_is_accepted(tree):
    assert names(list_files("file://" + str(tree), ext="bin"), tree) == ["c.bin"]


@pytest.mark.parametrize("uri", ["s3://bucket/x", "s3n://bucket/x", "gs://bucket/x", "hdfs://host/x",
                                 "http://host/x"])
def test_remote_schemes_are_not_implemented(uri):
    scheme = uri.split(":")[0]
    with pytest.raises(NotImplementedError, match=scheme + "://"):
        list_files(uri)


def test_missing_directory_raises_builtin_file_not_found(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError) as info:
        list_files(missing, ext="tif")
    assert type(info.value) is FileNotFoundError
    assert str(info.value) == f'Cannot find files of type "tif" in {missing}'


def test_empty_directory_raises_like_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'Cannot find files of type "\*" in .*'):
        list_files(tmp_path)


def test_directory_without_matching_ext_raises(tree):
    with pytest.raises(FileNotFoundError, match='type "png"'):
        list_files(tree, ext="png")


def test_pattern_matching_nothing_raises(tree):
    with pytest.raises(FileNotFoundError, match="nothing"):
        list_files(str(tree / "nothing*"))


def test_list_of_paths_is_merged_sorted_and_deduplicated(tree):
    files = list_files([str(tree / "sub"), str(tree / "c.bin"), str(tree / "sub" / "e.tif")], ext="tif")
    assert names(files, tree) == ["c.bin", os.path.join("sub", "e.tif")]


def test_empty_list_is_rejected():
    with pytest.raises(ValueError, match="path"):
        list_files([])


def test_bad_ext_is_rejected(tree):
    with pytest.raises(ValueError, match="ext"):
        list_files(tree, ext="")


@pytest.mark.parametrize("path", ["", [""], ["a.tif", ""]])
def test_empty_path_is_refused_not_the_working_directory(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here.tif").write_bytes(b"")
    with pytest.raises(ValueError, match="path is empty"):
        list_files(path, ext="tif")
