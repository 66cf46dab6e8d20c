"""The NLP service in-process (the kit's lifecycle, real NATS and gRPC, a fake analyzer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from dengar.v1 import common_pb2, nlp_pb2, nlp_pb2_grpc
from dengar_common.app import ServiceApp
from dengar_common.bus import Subjects, publish
from dengar_common.embedding import quantize
from dengar_common.enums import platform_name
from dengar_common.grpcerrors import RemoteError
from dengar_common.grpcutil import insecure_channel
from dengar_common.ids import mention_id
from dengar_common.localinfra import LocalInfra
from dengar_nlp import bootstrap
from dengar_nlp.domain.results import Analysis, Emotion, Sentiment, Signals
from dengar_nlp.settings import NlpSettings


class FakeAnalyzer:
    """Language = the text's first word, an 8-d embedding from its length when asked for; records
    the batches it was given."""

    model_version = "fake-1"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def analyze(self, texts: Sequence[str], *, include_embedding: bool = False) -> list[Analysis]:
        self.batches.append(list(texts))
        return [Analysis(language=(t.split() or ["und"])[0], language_confidence=0.5,
                         sentiment=Sentiment.undetermined(), emotion=Emotion.undetermined(),
                         aspects=(), signals=Signals(), model_version=self.model_version,
                         embedding=np.arange(8, dtype=np.float32) - len(t) % 8
                         if include_embedding else None)
                for t in texts]


@dataclass
class Running:
    app: ServiceApp
    port: int
    subjects: Subjects
    analyzer: FakeAnalyzer


@pytest.fixture
async def service(infra: LocalInfra, unique: str, tmp_path: Path) -> AsyncIterator[Running]:
    port_file = tmp_path / "nlp.port"
    settings = NlpSettings(nats_url=infra.nats_url, subject_root=unique, shutdown_grace_s=1,
                           nlp={"grpc_port": 0, "port_file": str(port_file), "max_analyze_texts": 3,
                                "batch_wait_ms": 50})
    analyzer = FakeAnalyzer()
    async with ServiceApp("dengar-nlp-test", grace_s=1) as app:
        await bootstrap.start(app, settings, analyzer=analyzer)
        await app.ready()
        yield Running(app, int(port_file.read_text()), Subjects(unique), analyzer)


async def _analyze(port: int, request: nlp_pb2.AnalyzeRequest) -> nlp_pb2.AnalyzeResponse:
    async with insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            return await nlp_pb2_grpc.NlpServiceStub(channel).Analyze(request, timeout=10)
        except grpc.aio.AioRpcError as exc:
            raise RemoteError.from_rpc_error("nlp", exc) from None


async def test_analyze_without_a_tenant(service: Running) -> None:
    response = await _analyze(service.port, nlp_pb2.AnalyzeRequest(texts=["en hello", "id halo"]))
    assert [r.language for r in response.results] == ["en", "id"]
    assert all(r.model_version == "fake-1" for r in response.results)


@pytest.mark.parametrize(("texts", "tenant", "field", "detail"), [
    (["a", "b", "c", "d"], "", "texts", "at most 3 texts per call, got 4"),
    ([], "", "texts", "texts must not be empty"),
    (["ok", "x" * 100_001], "", "texts", "texts [1] exceed 100000 characters"),
    (["ok"], "Not A Tenant!", "tenant_id", "invalid tenant_id"),
])
async def test_bad_requests_are_invalid_argument(service: Running, texts: list[str], tenant: str,
                                                 field: str, detail: str) -> None:
    with pytest.raises(RemoteError) as err:
        await _analyze(service.port, nlp_pb2.AnalyzeRequest(texts=texts, tenant_id=tenant))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.field == field and detail in err.value.detail
    assert service.analyzer.batches == []


async def test_collected_post_is_enriched(service: Running, nats_client: Any) -> None:
    js = nats_client.jetstream()
    tenant = "acme"
    platform = common_pb2.PLATFORM_REDDIT
    post = common_pb2.Post(tenant_id=tenant, platform=platform, external_id="p1",
                           id=mention_id(tenant, platform_name(platform), "p1"), title="en Title",
                           text="body")
    sub = await js.subscribe(service.subjects.enriched(tenant))
    await publish(js, service.subjects.collected(tenant), post.SerializeToString(), msg_id="acme:reddit:p1")
    msg = await sub.next_msg(timeout=15)
    enriched = common_pb2.EnrichedPost.FromString(msg.data)
    assert enriched.post.id == post.id
    assert enriched.enrichment.language == "en" and enriched.enrichment.model_version == "fake-1"
    assert service.analyzer.batches == [["en Title\nbody"]]
    # Every enriched post carries its compact embedding, for topics and categories downstream.
    assert enriched.enrichment.embedding_i8 == quantize(np.arange(8) - len("en Title\nbody") % 8)
    assert not enriched.enrichment.embedding
    await sub.unsubscribe()


async def test_stop_releases_everything(service: Running) -> None:
    await _analyze(service.port, nlp_pb2.AnalyzeRequest(texts=["en hi"]))
    await service.app.aclose()
    with pytest.raises(RemoteError) as err:
        await _analyze(service.port, nlp_pb2.AnalyzeRequest(texts=["en hi"]))
    assert err.value.code == grpc.StatusCode.UNAVAILABLE


# --- DENGAR_NLP__PROFILE with the committed models (issue 13) ---------------------------------------------


@pytest.mark.parametrize("profile", ["fast", "quality"])
async def test_profile_picks_the_committed_set(infra: LocalInfra, unique: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, profile: str) -> None:
    from dengar_nlp.adapters.onnx_models import models_version
    from dengar_nlp.settings import default_models_dir, default_quality_models_dir

    monkeypatch.setenv("DENGAR_NLP__PROFILE", profile)
    monkeypatch.delenv("DENGAR_NLP__QUALITY_MODELS_DIR", raising=False)
    port_file = tmp_path / "nlp.port"
    settings = NlpSettings(nats_url=infra.nats_url, subject_root=unique, shutdown_grace_s=1,
                           nlp={"grpc_port": 0, "port_file": str(port_file), "threads": 1})
    expected = {"fast": default_models_dir(), "quality": default_quality_models_dir()}
    assert settings.nlp.active_models_dir == expected[profile]
    async with ServiceApp("dengar-nlp-test", grace_s=1) as app:
        await bootstrap.start(app, settings)  # the real analyser, loaded from the profile's set
        await app.ready()
        response = await _analyze(int(port_file.read_text()), nlp_pb2.AnalyzeRequest(
            texts=["the delivery was late again and support never answered, so disappointed",
                   "pengirimannya cepat banget, mantap!"]))
    versions = {r.model_version for r in response.results}
    assert versions == {models_version(expected[profile])}
    other = expected["quality" if profile == "fast" else "fast"]
    assert versions != {models_version(other)}
    assert [r.language for r in response.results] == ["en", "id"]
    assert [r.sentiment.label for r in response.results] == [
        common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_POSITIVE]
