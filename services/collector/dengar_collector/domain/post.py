"""The fields of a post that the collector's rules read (validation, query matching).

Posts travel as ``dengar.v1.Post`` messages between the collector's ports (connectors, file imports,
webhooks, the bus); the domain never sees those messages, only the shared post contract's view of
them (``dengar_common.post_contract.PostFields``), built at the boundary (``service_layer.post_proto``),
so that a post is judged by the same rules whichever way it came in.
"""

from __future__ import annotations

from dengar_common.post_contract import PostAuthor, PostEngagement, PostFields

# Connectors build engagement counts with the contract's type.
Engagement = PostEngagement

__all__ = ["Engagement", "PostAuthor", "PostEngagement", "PostFields"]
