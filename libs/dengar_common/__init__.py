"""Code shared by every Dengar service: settings, logging, ids, NATS, MongoDB, gRPC and tracing."""
