"""Compact stored forms of the mention write path: near-duplicate keys and batch records.

Both are read back exactly as they were before being packed, so readers (the API's Mention, the
brief's drivers, a finisher resuming a batch) see the same values as with the long forms, and
documents or records written in the long form by an older version still read the same.
"""

from __future__ import annotations

import bson

from dengar_insights.domain import neardup
from dengar_insights.domain.insight.drivers import features_from_doc
from dengar_insights.entrypoints.protos import mention_to_proto, prepare_enriched
from dengar_insights.service_layer.ingest import _buckets_from_doc, _buckets_to_doc

# The layout NLP's MinHasher writes: "<version>-<perms>-<band:02d>-<16 hex>", bands in order.
KEYS = [f"mh1-128-{band:02d}-{(band * 0x9E3779B97F4A7C15) % 2**64:016x}" for band in range(32)]


def test_band_keys_are_packed_and_read_back_exactly() -> None:
    packed = neardup.pack(KEYS)
    assert isinstance(packed, dict)
    assert neardup.unpack(packed) == KEYS
    # About a quarter of the list's bytes.
    assert len(bson.encode({"k": packed})) * 3 < len(bson.encode({"k": KEYS}))


def test_other_key_lists_are_stored_as_they_came() -> None:
    for keys in ([], KEYS[1:], KEYS[:3] + KEYS[4:], ["mh1-128-00-aa"], [KEYS[0][:-1] + "A"],
                 [KEYS[0], KEYS[1].replace("mh1-128", "mh2-128")]):
        assert neardup.pack(keys) == keys
        assert neardup.unpack(neardup.pack(keys)) == keys
    assert neardup.unpack(None) == []


def test_mention_document_stores_packed_keys_and_readers_get_the_originals(make_enriched) -> None:
    e = make_enriched()
    e.enrichment.neardup_keys[:] = KEYS
    m = prepare_enriched(e)
    assert isinstance(m.fields["neardup_keys"], dict)
    doc = bson.decode(bson.encode({"_id": m.id, **m.fields}))  # as it comes back from the store
    assert list(mention_to_proto(doc).enrichment.neardup_keys) == KEYS
    assert features_from_doc(doc).neardup_keys == tuple(KEYS)
    # A document of the version before packing reads the same.
    legacy = {**doc, "neardup_keys": KEYS}
    assert mention_to_proto(legacy).enrichment == mention_to_proto(doc).enrichment


def test_batch_record_buckets_round_trip() -> None:
    buckets = {"acme|hour|2026-11-22T05": {"volume": 3, "queries.q_1.sentiment.negative": -2,
                                            "aspects.customer service.negative": 1},
               "acme|day|2026-11-22": {"volume": 1}}
    stored = bson.decode(bson.encode({"b": _buckets_to_doc(buckets)}))["b"]
    assert _buckets_from_doc(stored) == buckets
    # Smaller than the pairs it replaces.
    pairs = [[b, [[k, n] for k, n in incs.items()]] for b, incs in buckets.items()]
    assert len(bson.encode({"b": stored})) < len(bson.encode({"b": pairs}))
    # Records written by the version before the string form.
    assert _buckets_from_doc([["acme|day|2026-11-22", [["volume", 2], ["sentiment.positive", -1]]]]) == {
        "acme|day|2026-11-22": {"volume": 2, "sentiment.positive": -1}}
