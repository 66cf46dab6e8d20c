"""The collector's I/O: Mongo repositories (queries, sources, import jobs), the import spool, the
JetStream post publisher, the platform connectors with their egress-checked HTTP client, and the
at-rest encryption of source secrets."""
