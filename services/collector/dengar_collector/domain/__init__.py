"""Pure collector rules: post validation (``ingest``), the listening-query language (``query``) and
records (``listening_query``), sources and their schedule, import jobs, webhook signatures."""
