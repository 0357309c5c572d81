"""Reading a profiling run (bench/profile.sh): where the sampled time went, and how many messages.

    python -m bench.profile top SAMPLES.txt [--limit 25]   # py-spy's raw output, summarized
    python -m bench.profile messages URL...                # messages the APIs published, and their pessoas

``top`` prints the frames holding the most samples, first by their own samples (the frame at the
top of the stack), then inclusively (anywhere in the stack, counted once per sample). py-spy's
samples include some threads that wait rather than run, so these are shares of samples, not of
CPU. ``messages`` adds up what the API instances' own metrics (``/metrics``) say: the count and
the sum of ``pessoas_commit_batch_size`` (one observation per transaction of creations) and of
``pessoas_announcement_size`` (one per message announced to the worker). The stack starts its
APIs afresh, so after a run those are the run's (an API restarted mid-run would have lost its
share).
"""

from __future__ import annotations

import argparse
import collections
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

# The APIs' histograms (pessoas.adapters.prometheus_metrics): pessoas per transaction of
# creations, ids per announcement message.
TRANSACTIONS = "pessoas_commit_batch_size"
ANNOUNCEMENTS = "pessoas_announcement_size"


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


def published(metrics_texts: Iterable[str], histogram: str = ANNOUNCEMENTS) -> tuple[int, int]:
    """(observations, their sum) of one histogram over the APIs, from the text of each one's ``/metrics``.

    For ``pessoas_announcement_size``: (messages, ids in them); for ``pessoas_commit_batch_size``:
    (transactions, pessoas in them).
    """
    count = total = 0.0
    for text in metrics_texts:
        for family in text_string_to_metric_families(text):
            if family.name != histogram:
                continue
            for sample in family.samples:
                if sample.name == f"{histogram}_count":
                    count += sample.value
                elif sample.name == f"{histogram}_sum":
                    total += sample.value
    return int(count), int(total)


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        text: str = response.read().decode()
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    top_parser = commands.add_parser("top")
    top_parser.add_argument("samples", type=Path)
    top_parser.add_argument("--limit", type=int, default=25)
    messages_parser = commands.add_parser("messages")
    messages_parser.add_argument("urls", nargs="+", help="each API instance's /metrics")
    args = parser.parse_args(argv)
    if args.command == "top":
        print(top(args.samples, args.limit))
    else:
        texts = [_fetch(url) for url in args.urls]
        transactions, created = published(texts, TRANSACTIONS)
        messages, ids = published(texts, ANNOUNCEMENTS)
        print(f"transactions of creations {transactions}, pessoas in them {created}")
        print(f"announcement messages {messages}, ids in them {ids}")


if __name__ == "__main__":
    main()
