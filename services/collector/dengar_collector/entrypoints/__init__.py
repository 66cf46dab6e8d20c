"""How the collector is called: the gRPC CollectorService."""
