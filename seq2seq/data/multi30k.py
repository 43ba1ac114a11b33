"""Multi30k task 1 acquisition: pinned URLs, SHA256 checks, a cache folder and a local mirror."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from seq2seq.errors import UserError

log = logging.getLogger(__name__)

MIRROR_ENV = "SEQ2SEQ_DATA_MIRROR"
SPLITS = ("train", "val", "test_2016_flickr")

# SHA256 of each file of multi30k/dataset data/task1/raw at commit a3d2e0d2.
SHA256 = {
    "test_2016_flickr.cs.gz": "200a4a74cc9560f051924abb9803be008d1908d77f747e9141aeb86dfd2797f1",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.fr.gz": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
    "train.cs.gz": "a65adb8b32e3bc664f21ecba7a6e7f6950fd1f405e135f7c312faabdb6255077",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr.gz": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.cs.gz": "b63226e05c4bd5dd6a42897d74b86a1b9d2c31498252c572b1ea7f7996927fcc",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr.gz": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_name(split: str, lang: str) -> str:
    """The Multi30k file name of a split and language, e.g. val.de.gz."""
    name = f"{split}.{lang}.gz"
    if name not in SHA256:
        raise UserError(
            f"Multi30k has no file {name}: splits are {', '.join(SPLITS)}, languages en, de, fr, cs"
        )
    return name


def _verified(path: Path, name: str) -> bool:
    return path.is_file() and sha256_of(path) == SHA256[name]


def _download(url: str, dest: Path, name: str) -> None:
    """Fetch url into dest through a temporary file; a file failing its checksum is discarded."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        got = sha256_of(Path(tmp))
        if got != SHA256[name]:
            raise UserError(
                f"{url}: SHA256 {got} does not match the pinned {SHA256[name]}; file refused"
            )
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(
            f"{url}: download failed ({exc}); set {MIRROR_ENV} or data.mirror to a folder "
            "holding the Multi30k files"
        ) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(split: str, lang: str, *, cache_dir: Path, url: str, mirror: str | None) -> Path:
    """Path of a verified Multi30k file: from the cache, else the mirror, else the network."""
    name = file_name(split, lang)
    cached = Path(cache_dir) / "multi30k" / name
    if _verified(cached, name):
        return cached
    mirror = mirror or os.environ.get(MIRROR_ENV)
    if mirror:
        source = Path(mirror) / name
        if not source.is_file():
            raise UserError(f"{source}: not found in the Multi30k mirror folder")
        got = sha256_of(source)
        if got != SHA256[name]:
            raise UserError(f"{source}: SHA256 {got} does not match the pinned {SHA256[name]}")
        return source
    if cached.exists():
        log.warning("%s: checksum mismatch, downloading it again", cached)
    log.info("downloading %s/%s", url, name)
    _download(f"{url}/{name}", cached, name)
    return cached
