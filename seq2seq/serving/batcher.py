"""Dynamic batching: sentences of concurrent requests decoded together by one worker.

Each request's sentences wait in a queue. The worker takes the oldest request, then, for at
most serve.max_wait_ms, more requests with the same decoding settings, up to
serve.max_batch_sentences sentences; decodes them in one length-sorted batch on its own thread
(the event loop keeps serving meanwhile) and hands each caller its own results, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from seq2seq.config import DecodeConfig
from seq2seq.decoding.translator import Translation, Translator


@dataclass
class Job:
    lines: list[str]
    decode: DecodeConfig
    attention: bool
    future: asyncio.Future = field(repr=False)


@dataclass
class Counts:
    requests: int = 0
    sentences: int = 0
    batches: int = 0


class Batcher:
    def __init__(self, translator: Translator, max_sentences: int, max_wait_ms: float) -> None:
        self.translator, self.max_sentences = translator, max_sentences
        self.max_wait = max_wait_ms / 1000
        self.counts = Counts()
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.waiting: list[Job] = []  # taken from the queue, for a later batch
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode")
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.executor.shutdown(wait=True)

    async def translate(self, lines: list[str], decode: DecodeConfig,
                        attention: bool) -> list[list[Translation]]:
        """The n-best translations of lines, decoded with whatever else is waiting alike."""
        job = Job(lines, decode, attention, asyncio.get_running_loop().create_future())
        await self.queue.put(job)
        return await job.future

    async def _gather(self) -> list[Job]:
        """The oldest job, the like ones already waiting, and those that arrive within
        max_wait, up to max_sentences sentences; unlike ones wait for a later batch."""
        first = self.waiting.pop(0) if self.waiting else await self.queue.get()
        batch, n = [first], len(first.lines)

        def take(job: Job) -> None:
            nonlocal n
            if (job.decode == first.decode and job.attention == first.attention
                    and n + len(job.lines) <= self.max_sentences):
                batch.append(job)
                n += len(job.lines)
            else:
                self.waiting.append(job)

        earlier, self.waiting = self.waiting, []
        for job in earlier:
            take(job)
        while not self.queue.empty():
            take(self.queue.get_nowait())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while n < self.max_sentences and loop.time() < deadline:
            try:
                take(await asyncio.wait_for(self.queue.get(), deadline - loop.time()))
            except TimeoutError:
                break
        return batch

    def _decode(self, batch: list[Job]) -> list[list[Translation]]:
        lines = [line for job in batch for line in job.lines]
        return self.translator.translate_lines(lines, decode=batch[0].decode,
                                               attention=batch[0].attention)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._gather()
            try:
                results = await loop.run_in_executor(self.executor, self._decode, batch)
            except Exception as exc:  # noqa: BLE001 - each caller hears of it; the worker goes on
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self.counts.batches += 1
            start = 0
            for job in batch:
                self.counts.requests += 1
                self.counts.sentences += len(job.lines)
                if not job.future.done():
                    job.future.set_result(results[start : start + len(job.lines)])
                start += len(job.lines)
