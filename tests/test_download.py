"""The download helper against a local HTTP server: time limits, digests, no process-wide state.

Reliability review, defect 22: the CIFAR-10 download set ``socket.setdefaulttimeout``
for the whole process, did not bound the name lookup, and had no total time limit.
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from easyhard.data import cifar
from easyhard.data.download import fetch

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        if self.path == "/slow":  # a trickle: 1 KiB every 0.2 s
            for start in range(0, len(PAYLOAD), 1024):
                self.wfile.write(PAYLOAD[start:start + 1024])
                self.wfile.flush()
                time.sleep(0.2)
        else:
            self.wfile.write(PAYLOAD)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def no_global_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_value: object) -> None:
        raise AssertionError("socket.setdefaulttimeout must not be called")

    monkeypatch.setattr(socket, "setdefaulttimeout", refuse)


def test_fetch_checks_the_digest(server, tmp_path, no_global_timeout):
    good = hashlib.md5(PAYLOAD, usedforsecurity=False).hexdigest()
    dest = fetch(f"{server}/file", tmp_path / "a" / "file.bin", md5=good)
    assert dest.read_bytes() == PAYLOAD
    with pytest.raises(OSError, match="has MD5 .* expected 0+"):
        fetch(f"{server}/file", tmp_path / "b.bin", md5="0" * 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # no file, no partial file


def test_fetch_stops_at_the_total_time_limit(server, tmp_path, no_global_timeout):
    """The trickle takes about 200 s in all: the call returns at its 1 s limit."""
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match=r"within total_timeout=1 s"):
        fetch(f"{server}/slow", tmp_path / "slow.bin", total_timeout=1.0)
    assert time.perf_counter() - t0 < 5.0
    deadline = time.time() + 10.0
    while any(tmp_path.iterdir()) and time.time() < deadline:  # the worker cleans up after a read
        time.sleep(0.1)
    assert not any(tmp_path.iterdir())


def test_fetch_fails_fast_without_a_server(tmp_path, no_global_timeout):
    with socket.socket() as probe:  # a port that was free a moment ago: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(OSError):
        fetch(f"http://127.0.0.1:{port}/x", tmp_path / "x.bin", timeout=2.0)
    assert time.perf_counter() - t0 < 5.0
    with pytest.raises(ValueError, match="total_timeout must be a finite number > 0"):
        fetch(f"http://127.0.0.1:{port}/x", tmp_path / "x.bin", total_timeout=0)


def test_a_failed_cifar_download_is_reported_with_the_other_sources(tmp_path, monkeypatch):
    """load_cifar10 goes through fetch, and its failure lands in the 'Tried:' list."""
    pytest.importorskip("torchvision")

    def offline(url: str, dest: Path, **_: object) -> Path:
        raise TimeoutError(f"the download of {url} did not finish within total_timeout=1 s")

    monkeypatch.setattr(cifar, "fetch", offline)
    monkeypatch.setattr(cifar, "DEFAULT_ARCHIVE", tmp_path / "none.tar.gz")
    monkeypatch.delenv(cifar.ARCHIVE_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=r"download to .*: failed \(the download of .* "
                                                r"did not finish"):
        cifar.load_cifar10("test", root=tmp_path / "tv")
