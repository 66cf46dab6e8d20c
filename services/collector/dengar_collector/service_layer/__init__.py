"""The collector's use cases: ingesting posts (``ingest_service``), listening queries
(``query_service``, tagged onto posts by ``query_tagger``), sources (``source_service``, run by
``source_scheduler``) and file imports (``import_service``). They depend on ports, never on adapters."""
