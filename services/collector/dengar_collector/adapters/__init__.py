"""I/O of the collector: the NATS JetStream publisher."""
