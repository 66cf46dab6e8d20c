"""Composition root of the NLP service."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from grpc import aio
from nats.aio.client import Client as NatsClient

from dengar.v1 import nlp_pb2, nlp_pb2_grpc
from dengar_common import bus, grpcutil
from dengar_common.lifecycle import install_stop_signals
from dengar_common.settings import write_port_file
from dengar_nlp.entrypoints.consumer import EnrichmentHandler
from dengar_nlp.entrypoints.grpc_api import NlpServicer
from dengar_nlp.ports import TextAnalyzer
from dengar_nlp.settings import NlpSettings

logger = logging.getLogger(__name__)

SERVICE_NAMES = (nlp_pb2.DESCRIPTOR.services_by_name["NlpService"].full_name,)


def load_analyzer(settings: NlpSettings) -> TextAnalyzer:
    from dengar_nlp.analyzer import Analyzer

    return Analyzer.load(settings.nlp_models_dir, threads=settings.nlp_threads,
                         entities_file=settings.nlp_entities_file)


class NlpApp:
    """The running service: gRPC API + JetStream consumer sharing one analyzer."""

    def __init__(self, settings: NlpSettings, analyzer: TextAnalyzer | None = None) -> None:
        self.settings = settings
        self._analyzer = analyzer
        # One analysis at a time: onnxruntime already uses nlp_threads cores per call.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analyze")
        self._nc: NatsClient | None = None
        self._server: aio.Server | None = None
        self._health: object | None = None
        self._worker: bus.PullWorker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> None:
        s = self.settings
        if self._analyzer is None:
            loop = asyncio.get_running_loop()
            self._analyzer = await loop.run_in_executor(self._executor, load_analyzer, s)
        analyzer = self._analyzer
        subjects = bus.Subjects(s.subject_root)
        self._nc = await bus.connect(s.nats_url, name="dengar-nlp")
        js = self._nc.jetstream()
        await bus.ensure_streams(js, subjects)

        servicer = NlpServicer(analyzer, self._executor, max_texts=s.nlp_max_analyze_texts)
        self._server, self._health = grpcutil.make_server(
            [lambda srv: nlp_pb2_grpc.add_NlpServiceServicer_to_server(servicer, srv)], SERVICE_NAMES)
        self.port = self._server.add_insecure_port(f"{s.bind_host}:{s.nlp_grpc_port}")
        await self._server.start()
        await grpcutil.set_serving(self._health, SERVICE_NAMES, True)

        self._worker = bus.PullWorker(js, subjects, bus.WorkerConfig(
            stream=subjects.stream("collected"), durable="nlp", filter_subject=subjects.collected_all,
            batch_size=s.nlp_batch_size, max_wait_s=s.nlp_batch_wait_ms / 1000,
            max_deliver=s.nlp_max_deliver, stage="nlp",
        ), EnrichmentHandler(js, subjects, analyzer, self._executor))
        self._worker_task = asyncio.create_task(self._worker.run(), name="nlp-worker")
        write_port_file(s.nlp_port_file, self.port)
        logger.info("nlp service ready: gRPC on %s:%d, model %s", s.bind_host, self.port,
                    analyzer.model_version)

    async def stop(self) -> None:
        grace = self.settings.shutdown_grace_s
        if self._health is not None:
            await grpcutil.set_serving(self._health, SERVICE_NAMES, False)
        if self._worker is not None and self._worker_task is not None:
            self._worker.stop()
            try:
                await asyncio.wait_for(self._worker_task, timeout=grace)
            except TimeoutError:
                logger.warning("consumer did not finish its batch within %ss", grace)
                self._worker_task.cancel()
        if self._nc is not None:
            await self._nc.drain()
        if self._server is not None:
            await self._server.stop(grace)
        self._executor.shutdown(wait=True)
        logger.info("nlp service stopped")


async def main(settings: NlpSettings) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop)
    app = NlpApp(settings)
    await app.start()
    try:
        await stop.wait()
    finally:
        await app.stop()
