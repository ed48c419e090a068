import tarfile

import pytest

from data.helpers import write_folder, write_shard
from deepcolor.data import DataError, build_index
from deepcolor.data.augment import decode


def test_tar_index_reads_member_bytes(tmp_path):
    shard = write_shard(tmp_path / "a.tar", 5)
    index = build_index(shard)
    assert len(index) == 5
    with tarfile.open(shard) as tar:
        for i, member in enumerate(tar.getmembers()):
            assert index.names[i] == member.name
            assert index.read(i) == tar.extractfile(member).read()
    assert decode(index.read(0)).size == (24, 24)


def test_folder_with_shards_and_images_is_sorted_and_complete(tmp_path):
    write_shard(tmp_path / "root" / "s1.tar", 3)
    write_folder(tmp_path / "root" / "imgs", 4, start=100)
    index = build_index(str(tmp_path / "root"))
    assert len(index) == 7
    # a folder's own files first (sorted), then its sub-folders (sorted)
    assert index.names[:3] == ["img_00000.png", "img_00001.jpg", "img_00002.png"]
    assert index.names[3:] == [f"imgs/img_{n:05d}.png" for n in range(100, 104)]
    assert index.where(1).endswith("s1.tar/img_00001.jpg")


def test_glob_and_subset(tmp_path):
    write_shard(tmp_path / "x-000.tar", 2)
    write_shard(tmp_path / "x-001.tar", 3, start=2)
    index = build_index(str(tmp_path / "x-*.tar"))
    assert len(index) == 5 and len(index.subset(2)) == 2


@pytest.mark.parametrize("make", ["missing", "not-a-tar", "empty-folder", "no-glob-match"])
def test_bad_sources_give_one_line_errors(tmp_path, make):
    if make == "missing":
        path = tmp_path / "nope.tar"
    elif make == "not-a-tar":
        path = tmp_path / "fake.tar"
        path.write_text("hello")
    elif make == "empty-folder":
        path = tmp_path / "empty"
        path.mkdir()
    else:
        path = tmp_path / "none-*.tar"
    with pytest.raises(DataError) as info:
        build_index(str(path))
    message = str(info.value)
    assert "\n" not in message and str(path.name).split("*")[0] in message


@pytest.mark.data
def test_real_validation_shard_indexes(data_dir):
    index = build_index(data_dir / "val" / "tiny64-val.tar")
    assert len(index) == 2000
    assert decode(index.read(0)).size == (64, 64)
