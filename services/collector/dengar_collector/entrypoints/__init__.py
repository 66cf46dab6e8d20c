"""How the collector is called: the gRPC CollectorService, QueryService, SourceService and
ImportService servicers (proto <-> domain; errors raised as DomainErrors)."""
