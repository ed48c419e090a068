import io
import tarfile

import numpy as np
import pytest
import torch

from data.helpers import write_folder, write_shard
from deepcolor.data import (
    ImageStream,
    StreamPosition,
    build_index,
    load_validation_set,
    make_loader,
    rgb_batch_to_lab,
)


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    return write_shard(tmp_path_factory.mktemp("stream") / "s.tar", 40, size=20)


def take(loader_iter, n):
    return [next(loader_iter) for _ in range(n)]


@pytest.mark.parametrize("world_size,workers", [(1, 1), (2, 1), (3, 2)])
def test_each_epoch_is_split_without_overlap(shard, world_size, workers):
    index = build_index(shard)
    for epoch in (0, 1):
        parts = [
            ImageStream(index, 16, 4, seed=3, rank=r, world_size=world_size, num_workers=workers)._sequence(
                epoch, w
            )
            for r in range(world_size)
            for w in range(workers)
        ]
        together = np.concatenate(parts)
        assert sorted(together.tolist()) == list(range(len(index)))  # every record once
    first = ImageStream(index, 16, 4, seed=3)._sequence(0, 0)
    assert not np.array_equal(
        first, ImageStream(index, 16, 4, seed=3)._sequence(1, 0)
    )  # reshuffled per epoch
    assert not np.array_equal(first, ImageStream(index, 16, 4, seed=4)._sequence(0, 0))  # and per seed


def test_same_seed_same_batches(shard):
    index = build_index(shard)
    a = take(iter(make_loader(ImageStream(index, 16, 4, seed=1, grey_threshold=0), 0)), 3)
    b = take(iter(make_loader(ImageStream(index, 16, 4, seed=1, grey_threshold=0), 0)), 3)
    c = take(iter(make_loader(ImageStream(index, 16, 4, seed=2, grey_threshold=0), 0)), 3)
    assert all(torch.equal(x["rgb"], y["rgb"]) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0]["rgb"], c[0]["rgb"])
    assert a[0]["rgb"].shape == (4, 16, 16, 3) and a[0]["rgb"].dtype == torch.uint8


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_from_a_position_continues_exactly(shard, workers):
    index = build_index(shard)
    # 40 images, batch 6 -> batches cross epoch boundaries within 8 batches
    stream = ImageStream(index, 16, 6, seed=5, num_workers=workers)
    it = iter(make_loader(stream, workers))
    position = StreamPosition(num_workers=max(1, workers))
    batches = []
    for k in range(8):
        batch = next(it)
        batches.append(batch)
        position.update(batch)
        if k == 4:
            saved = StreamPosition.from_state_dict(position.state_dict())
    del it
    assert max(b["epoch"] for b in batches) >= 1  # the stream went on into the next epoch
    resumed = ImageStream(index, 16, 6, seed=5, num_workers=workers)
    resumed.set_position(saved)
    again = take(iter(make_loader(resumed, workers)), 3)
    for original, replay in zip(batches[5:], again, strict=True):
        assert torch.equal(original["rgb"], replay["rgb"])
        assert (original["worker"], original["epoch"], original["cursor"]) == (
            replay["worker"],
            replay["epoch"],
            replay["cursor"],
        )


def test_resume_with_other_worker_count_is_refused(shard):
    stream = ImageStream(build_index(shard), 16, 4, num_workers=2)
    with pytest.raises(ValueError, match="--num-workers 1"):
        stream.set_position(StreamPosition(num_workers=1, positions=[[0, 8]], batches=2))


def test_grey_images_are_dropped_and_counted(tmp_path):
    index = build_index(write_shard(tmp_path / "g.tar", 20, size=20, grey_every=4))  # 5 grey of 20
    stream = ImageStream(index, 16, 5, seed=0)
    batches = take(iter(make_loader(stream, 0)), 3)  # 15 colour images = all of epoch 0
    assert sum(b["grey_dropped"] for b in batches) == 5
    keep_all = take(iter(make_loader(ImageStream(index, 16, 5, seed=0, grey_threshold=0), 0)), 4)
    assert sum(b["grey_dropped"] for b in keep_all) == 0


def test_unreadable_images_are_reported_and_skipped(tmp_path, capfd):
    path = write_shard(tmp_path / "b.tar", 6, size=20)
    with tarfile.open(path, "a") as tar:
        info = tarfile.TarInfo("broken.jpg")
        info.size = 10
        tar.addfile(info, io.BytesIO(b"not a jpeg"))
    stream = ImageStream(build_index(path), 16, 6, seed=0, grey_threshold=0)
    batch = next(iter(make_loader(stream, 0)))
    err = capfd.readouterr().err.strip().splitlines()
    # the line the commands print for such a file (deepcolor.io's wording), naming the shard and member
    assert err == [f"deepcolor: {path}/broken.jpg: not an image (it looks like a text file)"]
    assert batch["unreadable"] == 1


def test_bad_training_and_validation_images_say_what_the_commands_say(tmp_path, capfd):
    folder = tmp_path / "photos"
    write_folder(folder, 8, size=20)
    (folder / "a_bad.png").write_bytes(bytes(range(256)))
    (folder / "b_text.jpg").write_bytes(b"hello, not a jpeg")
    (folder / "c_truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 and nothing more")
    index = build_index(folder)
    stream = ImageStream(index, 16, 8, seed=0, grey_threshold=0)
    batches = take(iter(make_loader(stream, 0)), 2)  # past the end of the first epoch: every file read
    err = capfd.readouterr().err.strip().splitlines()
    assert sum(b["unreadable"] for b in batches) == len(err) >= 3  # each line counted once
    assert sorted(set(err)) == [
        f"deepcolor: {folder / 'a_bad.png'}: not an image, or a format deepcolor cannot read",
        f"deepcolor: {folder / 'b_text.jpg'}: not an image (it looks like a text file)",
        f"deepcolor: {folder / 'c_truncated.jpg'}: not a readable image (Truncated File Read)",
    ]
    rgb, grey = load_validation_set(str(folder), 4, 16, grey_threshold=0)
    assert rgb.shape[0] == 4
    err = capfd.readouterr().err.strip().splitlines()
    assert err[0] == f"deepcolor: {folder / 'a_bad.png'}: not an image, or a format deepcolor cannot read"
    assert not any("<_io." in line or "unreadable image (" in line for line in err)


def test_rgb_batch_to_lab_shapes_and_values():
    rgb = torch.zeros(2, 4, 5, 3, dtype=torch.uint8)
    rgb[0] = 255  # white
    rgb[1, ..., 0] = 255  # red
    l_norm, ab_norm = rgb_batch_to_lab(rgb)
    assert l_norm.shape == (2, 1, 4, 5) and ab_norm.shape == (2, 2, 4, 5)
    assert torch.allclose(l_norm[0], torch.tensor(0.5), atol=1e-4)  # L 100
    assert torch.allclose(ab_norm[0], torch.tensor(0.0), atol=1e-3)
    assert torch.allclose(ab_norm[1, 0], torch.tensor(80.09 / 110), atol=2e-3)  # red: a* 80.1


def test_validation_set_takes_the_first_colour_images(tmp_path):
    path = write_shard(tmp_path / "v.tar", 12, size=20, grey_every=3)  # 0, 3, 6, 9 grey
    rgb, grey = load_validation_set(str(path), 5, 16)
    assert rgb.shape == (5, 16, 16, 3) and grey == 3  # skipped 0, 3, 6 on the way to 5 images


def test_a_set_that_fills_whole_batches_streams_for_many_epochs(tmp_path):
    # 8 images in batches of 4: every epoch ends on a whole batch, which is not an empty epoch
    index = build_index(write_shard(tmp_path / "eight.tar", 8, size=20))
    batches = iter(make_loader(ImageStream(index, 16, 4, seed=0, num_workers=1), 0))
    assert len(take(batches, 12)) == 12  # six epochs
