"""Download one file with a time limit on every step and on the whole transfer.

:func:`fetch` is what the library uses instead of a bare ``urlopen``: it never
touches the process-wide ``socket.setdefaulttimeout``, it bounds each
connect and read by ``timeout`` seconds, and it bounds the whole transfer,
name lookup included, by ``total_timeout`` seconds. The transfer runs in a
daemon thread that the caller waits for up to the deadline, so a lookup
that hangs (``getaddrinfo`` takes no timeout) cannot hang the caller. The
file appears at ``dest`` only once it is complete and its MD5 digest
matches; a partial download is removed.
"""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.request
from pathlib import Path

from easyhard._validation import check_scalar

#: seconds one connect or read may take
DOWNLOAD_TIMEOUT_S = 20.0
#: seconds the whole transfer may take (CIFAR-10's 163 MB at 0.1 MB/s)
DOWNLOAD_TOTAL_S = 1800.0

_CHUNK = 1 << 20


def fetch(
    url: str,
    dest: str | Path,
    *,
    md5: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
    total_timeout: float = DOWNLOAD_TOTAL_S,
) -> Path:
    """Download ``url`` to ``dest`` and return ``dest``.

    Parameters
    ----------
    url : str
        The address (``http``, ``https`` or ``file``).
    dest : str or Path
        Where the complete file goes (its folder is created).
    md5 : str, optional
        Expected MD5 hex digest; a mismatch raises and leaves no file.
    timeout : float
        Seconds each connect or read may take.
    total_timeout : float
        Seconds the whole transfer may take, name lookup included.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    TimeoutError
        If the transfer does not finish within ``total_timeout`` seconds.
    OSError
        If the connection or a read fails (``urllib.error.URLError`` included),
        or the digest does not match (``OSError`` naming both digests).
    """
    timeout = check_scalar(timeout, "timeout", lo=0.0, closed="neither")
    total_timeout = check_scalar(total_timeout, "total_timeout", lo=0.0, closed="neither")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.part-{os.getpid()}-{threading.get_ident()}")
    cancel = threading.Event()
    failure: list[BaseException] = []

    def transfer() -> None:
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                read = getattr(response, "read1", response.read)  # returns what has arrived
                while not cancel.is_set():
                    block = read(_CHUNK)
                    if not block:
                        break
                    digest.update(block)
                    out.write(block)
            if cancel.is_set():
                return
            if md5 is not None and digest.hexdigest() != md5.lower():
                raise OSError(f"the download of {url} has MD5 {digest.hexdigest()}, expected {md5}: "
                              f"the file is damaged or changed; try again")
            os.replace(part, dest)
        except BaseException as err:  # handed to the caller's thread
            failure.append(err)
        finally:
            part.unlink(missing_ok=True)

    worker = threading.Thread(target=transfer, name=f"easyhard-fetch {url}", daemon=True)
    worker.start()
    worker.join(total_timeout)
    if worker.is_alive():
        cancel.set()
        raise TimeoutError(f"the download of {url} did not finish within total_timeout="
                           f"{total_timeout:g} s; check the connection or fetch the file by hand "
                           f"to {dest}")
    if failure:
        raise failure[0]
    return dest
