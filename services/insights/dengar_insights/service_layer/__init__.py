"""Use cases of the insights service: they orchestrate the pure domain over small ports."""
