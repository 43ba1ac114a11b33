"""Multi30k acquisition over a loopback HTTP server, from the cache, and from a mirror folder."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seq2seq.data import multi30k
from seq2seq.errors import UserError


class _QuietHandler(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving a folder; yields (url, folder, requests)."""
    served = tmp_path / "served"
    served.mkdir()
    _QuietHandler.requests = []
    handler = functools.partial(_QuietHandler, directory=str(served))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served, _QuietHandler.requests, httpd
    httpd.shutdown()
    httpd.server_close()


def test_download_verify_cache_then_offline(server, mirror, tmp_path, monkeypatch):
    monkeypatch.delenv(multi30k.MIRROR_ENV, raising=False)
    url, served, requests, httpd = server
    shutil.copy(mirror / "val.de.gz", served / "val.de.gz")
    cache = tmp_path / "cache"
    path = multi30k.fetch("val", "de", cache_dir=cache, url=url, mirror=None)
    assert path == cache / "multi30k" / "val.de.gz"
    assert multi30k.sha256_of(path) == multi30k.SHA256["val.de.gz"]
    assert requests == ["/val.de.gz"]
    httpd.shutdown()  # no network from here on
    again = multi30k.fetch("val", "de", cache_dir=cache, url=url, mirror=None)
    assert again == path and requests == ["/val.de.gz"]


def test_corrupted_download_is_refused_and_not_cached(server, mirror, tmp_path, monkeypatch):
    monkeypatch.delenv(multi30k.MIRROR_ENV, raising=False)
    url, served, _, _ = server
    data = bytearray((mirror / "val.en.gz").read_bytes())
    data[100] ^= 0xFF
    (served / "val.en.gz").write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(UserError, match="does not match the pinned"):
        multi30k.fetch("val", "en", cache_dir=cache, url=url, mirror=None)
    assert not any((cache / "multi30k").iterdir())


def test_corrupted_cache_file_is_fetched_again(server, mirror, tmp_path, monkeypatch):
    monkeypatch.delenv(multi30k.MIRROR_ENV, raising=False)
    url, served, requests, _ = server
    shutil.copy(mirror / "val.fr.gz", served / "val.fr.gz")
    cached = tmp_path / "cache" / "multi30k" / "val.fr.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"garbage")
    path = multi30k.fetch("val", "fr", cache_dir=tmp_path / "cache", url=url, mirror=None)
    assert multi30k.sha256_of(path) == multi30k.SHA256["val.fr.gz"] and requests == ["/val.fr.gz"]


def test_mirror_replaces_network(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(multi30k.MIRROR_ENV, str(mirror))
    unreachable = "http://127.0.0.1:9"  # discard port: any network use would fail
    for split in multi30k.SPLITS:
        for lang in ("en", "de", "fr", "cs"):
            path = multi30k.fetch(split, lang, cache_dir=tmp_path, url=unreachable, mirror=None)
            assert path.parent == mirror


def test_corrupted_mirror_file_is_refused(mirror, tmp_path):
    bad_mirror = tmp_path / "mirror"
    bad_mirror.mkdir()
    (bad_mirror / "val.cs.gz").write_bytes((mirror / "val.cs.gz").read_bytes()[:-10])
    with pytest.raises(UserError, match=r"val\.cs\.gz: SHA256 .* does not match"):
        multi30k.fetch(
            "val", "cs", cache_dir=tmp_path / "c", url="http://127.0.0.1:9", mirror=str(bad_mirror)
        )


def test_unknown_split_or_language(tmp_path):
    with pytest.raises(UserError, match="Multi30k has no file test_2017.de.gz"):
        multi30k.fetch("test_2017", "de", cache_dir=tmp_path, url="x", mirror=None)


def test_network_failure_names_the_mirror_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(multi30k.MIRROR_ENV, raising=False)
    with pytest.raises(UserError, match="download failed.*SEQ2SEQ_DATA_MIRROR"):
        multi30k.fetch("val", "de", cache_dir=tmp_path, url="http://127.0.0.1:9", mirror=None)
