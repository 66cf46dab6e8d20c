"""Collector integration tests. pytest puts this directory on ``sys.path``, so the tests below it
import ``collector_harness`` (the in-process collector) and ``connector_fakes`` the same way."""
