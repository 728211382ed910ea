"""Instructions per request, counted by callgrind: what other work on the machine does not move.

On a shared machine CPU time per request swings by more than a change of a few percent; an instruction count does
not. Run it twice under callgrind, with instrumentation off until the measured loop starts, and divide the
difference of the two totals by the difference of the request counts (which cancels start-up and the switch):

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/stack_instructions.py --requests 50     # "Collected : N50"
    ... --requests 250                                                   # "Collected : N250"
    # instructions per request = (N250 - N50) / 200

The request is ``GET /api/v1/products/{id}`` of the reference service from ``create_app`` (production stack, JSON
access log, a real EdDSA token, tracing off), in process, after 100 unmeasured ones and with the start-up heap
frozen as ``apibase serve`` freezes it. Set ``PYTHONHASHSEED=0`` for repeatable counts; point ``PYTHONPATH`` at
another tree's ``app`` to count that tree.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apibase.interface.cli.servers.heap import freeze_startup_heap  # noqa: E402
from bench.asgi_driver import caller, seeded_service  # noqa: E402
from bench.stack_bench import stack_settings  # noqa: E402
from shop.main import create_app  # noqa: E402


def instrument(on: bool) -> None:
    """Switch callgrind's instrumentation of this process on or off."""
    switch = ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())]
    subprocess.run(switch, check=True, capture_output=True)


async def main(requests: int) -> int:
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="apibase-instructions-") as folder:
        app = create_app(stack_settings(Path(folder)))
        async with seeded_service(app) as seeded:
            freeze_startup_heap()
            path = seeded.product_path.replace("/api/v2/", "/api/v1/")
            call = caller(app, path, [(b"authorization", seeded.authorization.encode()), (b"host", b"bench")])
            for _ in range(100):
                await call()
            instrument(on=True)
            for _ in range(requests):
                await call()
            instrument(on=False)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=250)
    raise SystemExit(asyncio.run(main(parser.parse_args().requests)))
