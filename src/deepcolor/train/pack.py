"""Training images packed small for a machine that cannot see `../shared/data` (a lent GPU gets only what a
command carries, 64 MiB in all): every image of the sources re-encoded as a JPEG whose shorter side is at most
`side` pixels, written as WebDataset-style tar shards that `build_index` reads like the originals.

    python -m deepcolor.train.pack data:train/photos data:train/nette224 -o gpu-data/train/packed --side 176
    DEEPCOLOR_DATA=gpu-data deepcolor train --config configs/autoencoder-lite0-gpu.yaml ...

Near-grey images are kept: the training loop drops them by its own rule (`grey_threshold`).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
from pathlib import Path

from PIL import Image

from deepcolor.data.augment import read_record
from deepcolor.data.sources import DataError, build_index

SHARD_SIZE = 5000  # images per shard, as the shared shards


def _resolve(source: str) -> str:
    from deepcolor.train.config import default_data_root

    return str(Path(default_data_root()) / source[5:]) if source.startswith("data:") else source


def pack(sources: list[str], out: str | os.PathLike[str], side: int = 176, quality: int = 90) -> int:
    """Re-encode every image of `sources` (folders, tar shards, globs, `data:` names) into
    `out/packed-NNN.tar`.

    Returns:
        The number of images written. Shards are written to a temporary name and renamed when whole.

    Raises:
        DataError: a source is missing, or `out` already holds shards.
    """
    index = build_index([_resolve(s) for s in sources])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.glob("packed-*.tar")):
        raise DataError(f"{out}: already holds packed shards; choose an empty folder")
    written = 0
    for shard_start in range(0, len(index), SHARD_SIZE):
        final = out / f"packed-{shard_start // SHARD_SIZE:03d}.tar"
        temp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        try:
            with tarfile.open(temp, "w") as tar:
                for i in range(shard_start, min(shard_start + SHARD_SIZE, len(index))):
                    image = read_record(index, i).convert("RGB")
                    scale = side / min(image.size)
                    if scale < 1:
                        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
                        image = image.resize(size, Image.Resampling.LANCZOS)
                    data = io.BytesIO()
                    image.save(data, "JPEG", quality=quality)
                    member = tarfile.TarInfo(f"{Path(index.names[i]).stem}_{i:07d}.jpg")
                    member.size = data.tell()
                    data.seek(0)
                    tar.addfile(member, data)
                    written += 1
            os.replace(temp, final)
        finally:
            if temp.exists():
                temp.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", help="folders, tar shards, globs or data:NAME")
    parser.add_argument("-o", "--out", required=True, help="an empty folder for the shards")
    parser.add_argument("--side", type=int, default=176, help="shorter side at most (pixels)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality")
    args = parser.parse_args(argv)
    try:
        count = pack(args.sources, args.out, args.side, args.quality)
    except DataError as error:
        print(f"deepcolor: {error}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in Path(args.out).glob("packed-*.tar"))
    print(f"packed {count} images into {args.out} ({size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
