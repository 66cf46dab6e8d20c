"""Composition root of the NLP service: the models, the analysis use cases, gRPC and the consumer."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from dengar.v1 import nlp_pb2, nlp_pb2_grpc
from dengar_common import bus
from dengar_common.app import ServiceApp
from dengar_nlp.entrypoints.consumer import CONSUMER_GROUP, EnrichmentHandler
from dengar_nlp.entrypoints.grpc_api import TENANT_OPTIONAL, NlpServicer
from dengar_nlp.service_layer.analysis import AnalysisService
from dengar_nlp.service_layer.ports import TextAnalyzer
from dengar_nlp.settings import NlpConfig, NlpSettings

logger = logging.getLogger(__name__)

SERVICE_NAMES = (nlp_pb2.DESCRIPTOR.services_by_name["NlpService"].full_name,)


def load_analyzer(config: NlpConfig) -> TextAnalyzer:
    # Imported here: onnxruntime and the tokenizer load only when the service really starts.
    from dengar_nlp.adapters.onnx_models import load_analyzer as load

    logger.info("loading the %s model set from %s", config.profile, config.active_models_dir)
    return load(config.active_models_dir, threads=config.threads, entities_file=config.entities_file,
                spin_wait=config.spin_wait, parallelism=config.parallelism)


def telemetry_resource(settings: NlpSettings) -> dict[str, str]:
    """The model version as a resource attribute: every metric and span of this process (the batch
    latency first) is then attributable to the models that produced it."""
    from dengar_nlp.adapters.onnx_models import models_version

    try:
        return {"dengar.nlp.model.version": models_version(settings.nlp.active_models_dir)}
    except OSError as exc:
        # The service itself reports missing models when it loads them.
        logger.warning("model version unknown for telemetry: %s", exc)
        return {}


async def start(app: ServiceApp, settings: NlpSettings, *, analyzer: TextAnalyzer | None = None) -> None:
    """Start the gRPC API and the JetStream consumer sharing one analyzer (``analyzer`` for tests)."""
    cfg = settings.nlp
    # One analysis at a time: the analyzer itself spreads a batch over `threads` cores.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analyze")

    async def shutdown_executor() -> None:
        await asyncio.to_thread(executor.shutdown, wait=True)

    app.on_stop("the analysis executor", shutdown_executor)
    if analyzer is None:
        # Loading takes seconds: off the event loop, on the thread that will run the analyses.
        analyzer = await asyncio.get_running_loop().run_in_executor(executor, load_analyzer, cfg)
    analysis = AnalysisService(analyzer, executor, max_texts=cfg.max_analyze_texts)

    subjects = bus.Subjects(settings.subject_root)
    nc = await app.connect_nats(settings.nats_url)
    js = nc.jetstream()
    await bus.ensure_streams(js, subjects, replicas=settings.nats_stream_replicas)

    servicer = NlpServicer(analysis)
    port = await app.serve_grpc(
        [lambda srv: nlp_pb2_grpc.add_NlpServiceServicer_to_server(servicer, srv)], SERVICE_NAMES,
        host=settings.bind_host, port=cfg.grpc_port, port_file=cfg.port_file,
        tenant_optional=TENANT_OPTIONAL)

    app.run_worker("consumer", bus.PullWorker(js, subjects, bus.WorkerConfig(
        stream=subjects.stream("collected"), durable=CONSUMER_GROUP, filter_subject=subjects.collected_all,
        batch_size=cfg.batch_size, max_wait_s=cfg.batch_wait_ms / 1000,
        max_deliver=cfg.max_deliver, stage="nlp",
    ), EnrichmentHandler(js, subjects, analysis)))
    logger.info("nlp service started: gRPC on %s:%d, model %s", settings.bind_host, port,
                analyzer.model_version)
