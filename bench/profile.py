"""Reading a profiling run (bench/profile.sh): where the sampled time went, and how many messages.

    python -m bench.profile top SAMPLES.txt [--limit 25]   # py-spy's raw output, summarized
    python -m bench.profile published [--queue pessoas]    # the queue's publish counter, now

``top`` prints the frames holding the most samples, first by their own samples (the frame at the
top of the stack), then inclusively (anywhere in the stack, counted once per sample). py-spy's
samples include some threads that wait rather than run, so these are shares of samples, not of
CPU. ``published`` reads RabbitMQ's management API for the number of messages ever published to
the queue; profile.sh reads it before and after the load, and the difference is the run's messages.
"""

from __future__ import annotations

import argparse
import base64
import collections
import os
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import orjson


def _frame_name(frame: str) -> str:
    """``function (path/to/module.py:12)`` -> ``function (module.py:12)``: short, still unique enough."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1]}" if where else name


def tally(lines: Iterable[str]) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    """(samples, own samples per frame, inclusive samples per frame) of py-spy's raw lines."""
    total = 0
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_frame_name(f) for f in stack.split(";")]
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):  # a recursive frame counts once per sample
            inclusive[frame] += samples
    return total, own, inclusive


def top(path: Path, limit: int) -> str:
    total, own, inclusive = tally(path.read_text().splitlines())
    if not total:
        return f"{path}: no samples"
    lines = [f"{path}: {total} samples", "own:"]
    lines += [f"  {100 * n / total:5.1f} %  {frame}" for frame, n in own.most_common(limit)]
    lines.append("inclusive:")
    lines += [f"  {100 * n / total:5.1f} %  {frame}" for frame, n in inclusive.most_common(limit)]
    return "\n".join(lines)


def published(management_url: str, queue: str) -> int:
    """How many messages were ever published to ``queue`` (0 before the first)."""
    parts = urllib.parse.urlsplit(management_url)
    vhost = urllib.parse.quote(urllib.parse.unquote(parts.path.strip("/")) or "/", safe="")
    url = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api/queues/{vhost}/{queue}"
    request = urllib.request.Request(url)
    credentials = f"{parts.username or 'guest'}:{parts.password or 'guest'}".encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        stats = orjson.loads(response.read()).get("message_stats") or {}
    return int(stats.get("publish", 0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    top_parser = commands.add_parser("top")
    top_parser.add_argument("samples", type=Path)
    top_parser.add_argument("--limit", type=int, default=25)
    count_parser = commands.add_parser("published")
    count_parser.add_argument("--queue", default=os.environ.get("PESSOAS_QUEUE_NAME", "pessoas"))
    count_parser.add_argument(
        "--management-url",
        default=os.environ.get("BENCH_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672/"),
    )
    args = parser.parse_args(argv)
    if args.command == "top":
        print(top(args.samples, args.limit))
    else:
        print(published(args.management_url, args.queue))


if __name__ == "__main__":
    main()
