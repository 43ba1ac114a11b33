"""The loop's batches, collated in turn or one update ahead in a worker thread.

On a GPU the host's work between updates leaves the GPU idle: each update ends in host reads of
its loss and gradient norm, and only then does the loop collate the next batch (1.9 ms for a
16k-token batch on a 2-core EPYC, more on a slower host) and copy it over. Collated ahead, the
next update's batches are made while the GPU runs the current one (the waits for the GPU release
Python's lock) and sit in pinned memory, whose copies to the GPU need not wait either. On a CPU
the update itself keeps the cores busy and collation is half a percent of it: the loop ran at
0.99x of its update alone both in turn and ahead on a 2-core EPYC, within the rounds' noise
(`python scripts/loop_overhead.py experiment=multi30k_de_en --updates 30 --rounds 5`), so it
collates in turn there, without a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from seq2seq.data.batching import Batch

Group = list[list[int]]  # the corpus indices of an update's batches


def collated(groups: list[Group], collate: Callable[[list[int]], Batch], ahead: bool = False,
             pin: bool = False) -> Iterator[list[Batch]]:
    """Each group's batches, in order. ahead: the next group is collated in a worker thread
    while the caller trains on the current one; pin: into pinned memory (for copies to a GPU
    that do not wait). Closing the iterator early waits for a collation under way."""

    def prepare(group: Group) -> list[Batch]:
        batches = [collate(indices) for indices in group]
        return [b.pin_memory() for b in batches] if pin else batches

    if not ahead:
        yield from map(prepare, groups)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="collate") as worker:
        pending: list[Future] = [worker.submit(prepare, g) for g in groups[:1]]
        for k in range(len(groups)):
            batches = pending.pop().result()
            if k + 1 < len(groups):
                pending.append(worker.submit(prepare, groups[k + 1]))
            yield batches
