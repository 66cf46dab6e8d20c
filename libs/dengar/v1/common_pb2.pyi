import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_UNSPECIFIED: _ClassVar[Platform]
    PLATFORM_X: _ClassVar[Platform]
    PLATFORM_MASTODON: _ClassVar[Platform]
    PLATFORM_BLUESKY: _ClassVar[Platform]
    PLATFORM_REDDIT: _ClassVar[Platform]
    PLATFORM_YOUTUBE: _ClassVar[Platform]
    PLATFORM_RSS: _ClassVar[Platform]
    PLATFORM_HACKERNEWS: _ClassVar[Platform]
    PLATFORM_FACEBOOK: _ClassVar[Platform]
    PLATFORM_INSTAGRAM: _ClassVar[Platform]
    PLATFORM_TIKTOK: _ClassVar[Platform]
    PLATFORM_NEWS: _ClassVar[Platform]
    PLATFORM_FORUM: _ClassVar[Platform]
    PLATFORM_REVIEW: _ClassVar[Platform]
    PLATFORM_OTHER: _ClassVar[Platform]

class Sentiment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENTIMENT_UNSPECIFIED: _ClassVar[Sentiment]
    SENTIMENT_NEGATIVE: _ClassVar[Sentiment]
    SENTIMENT_NEUTRAL: _ClassVar[Sentiment]
    SENTIMENT_POSITIVE: _ClassVar[Sentiment]
PLATFORM_UNSPECIFIED: Platform
PLATFORM_X: Platform
PLATFORM_MASTODON: Platform
PLATFORM_BLUESKY: Platform
PLATFORM_REDDIT: Platform
PLATFORM_YOUTUBE: Platform
PLATFORM_RSS: Platform
PLATFORM_HACKERNEWS: Platform
PLATFORM_FACEBOOK: Platform
PLATFORM_INSTAGRAM: Platform
PLATFORM_TIKTOK: Platform
PLATFORM_NEWS: Platform
PLATFORM_FORUM: Platform
PLATFORM_REVIEW: Platform
PLATFORM_OTHER: Platform
SENTIMENT_UNSPECIFIED: Sentiment
SENTIMENT_NEGATIVE: Sentiment
SENTIMENT_NEUTRAL: Sentiment
SENTIMENT_POSITIVE: Sentiment

class Author(_message.Message):
    __slots__ = ("id", "handle", "display_name", "followers", "verified", "location")
    ID_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FOLLOWERS_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    id: str
    handle: str
    display_name: str
    followers: int
    verified: bool
    location: str
    def __init__(self, id: _Optional[str] = ..., handle: _Optional[str] = ..., display_name: _Optional[str] = ..., followers: _Optional[int] = ..., verified: _Optional[bool] = ..., location: _Optional[str] = ...) -> None: ...

class Engagement(_message.Message):
    __slots__ = ("likes", "reposts", "replies", "quotes", "views")
    LIKES_FIELD_NUMBER: _ClassVar[int]
    REPOSTS_FIELD_NUMBER: _ClassVar[int]
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    likes: int
    reposts: int
    replies: int
    quotes: int
    views: int
    def __init__(self, likes: _Optional[int] = ..., reposts: _Optional[int] = ..., replies: _Optional[int] = ..., quotes: _Optional[int] = ..., views: _Optional[int] = ...) -> None: ...

class Post(_message.Message):
    __slots__ = ("id", "tenant_id", "platform", "external_id", "text", "created_at", "collected_at", "author", "engagement", "url", "lang_hint", "in_reply_to", "quote_of", "repost_of", "source_id", "query_ids", "title", "country", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    COLLECTED_AT_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    LANG_HINT_FIELD_NUMBER: _ClassVar[int]
    IN_REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    QUOTE_OF_FIELD_NUMBER: _ClassVar[int]
    REPOST_OF_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_IDS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    platform: Platform
    external_id: str
    text: str
    created_at: _timestamp_pb2.Timestamp
    collected_at: _timestamp_pb2.Timestamp
    author: Author
    engagement: Engagement
    url: str
    lang_hint: str
    in_reply_to: str
    quote_of: str
    repost_of: str
    source_id: str
    query_ids: _containers.RepeatedScalarFieldContainer[str]
    title: str
    country: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., platform: _Optional[_Union[Platform, str]] = ..., external_id: _Optional[str] = ..., text: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., collected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., author: _Optional[_Union[Author, _Mapping]] = ..., engagement: _Optional[_Union[Engagement, _Mapping]] = ..., url: _Optional[str] = ..., lang_hint: _Optional[str] = ..., in_reply_to: _Optional[str] = ..., quote_of: _Optional[str] = ..., repost_of: _Optional[str] = ..., source_id: _Optional[str] = ..., query_ids: _Optional[_Iterable[str]] = ..., title: _Optional[str] = ..., country: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SentimentResult(_message.Message):
    __slots__ = ("label", "negative", "neutral", "positive")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    label: Sentiment
    negative: float
    neutral: float
    positive: float
    def __init__(self, label: _Optional[_Union[Sentiment, str]] = ..., negative: _Optional[float] = ..., neutral: _Optional[float] = ..., positive: _Optional[float] = ...) -> None: ...

class EmotionResult(_message.Message):
    __slots__ = ("label", "scores")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    label: str
    scores: _containers.ScalarMap[str, float]
    def __init__(self, label: _Optional[str] = ..., scores: _Optional[_Mapping[str, float]] = ...) -> None: ...

class AspectResult(_message.Message):
    __slots__ = ("name", "polarity", "confidence")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLARITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    polarity: Sentiment
    confidence: float
    def __init__(self, name: _Optional[str] = ..., polarity: _Optional[_Union[Sentiment, str]] = ..., confidence: _Optional[float] = ...) -> None: ...

class EntityMatch(_message.Message):
    __slots__ = ("id", "kind", "surface", "start", "end")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    surface: str
    start: int
    end: int
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., surface: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Enrichment(_message.Message):
    __slots__ = ("language", "language_confidence", "sentiment", "emotion", "aspects", "hashtags", "mentions", "urls", "domains", "cashtags", "emojis", "entities", "neardup_keys", "embedding", "model_version", "embedding_i8")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    ASPECTS_FIELD_NUMBER: _ClassVar[int]
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    MENTIONS_FIELD_NUMBER: _ClassVar[int]
    URLS_FIELD_NUMBER: _ClassVar[int]
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    CASHTAGS_FIELD_NUMBER: _ClassVar[int]
    EMOJIS_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    NEARDUP_KEYS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_I8_FIELD_NUMBER: _ClassVar[int]
    language: str
    language_confidence: float
    sentiment: SentimentResult
    emotion: EmotionResult
    aspects: _containers.RepeatedCompositeFieldContainer[AspectResult]
    hashtags: _containers.RepeatedScalarFieldContainer[str]
    mentions: _containers.RepeatedScalarFieldContainer[str]
    urls: _containers.RepeatedScalarFieldContainer[str]
    domains: _containers.RepeatedScalarFieldContainer[str]
    cashtags: _containers.RepeatedScalarFieldContainer[str]
    emojis: _containers.RepeatedScalarFieldContainer[str]
    entities: _containers.RepeatedCompositeFieldContainer[EntityMatch]
    neardup_keys: _containers.RepeatedScalarFieldContainer[str]
    embedding: _containers.RepeatedScalarFieldContainer[float]
    model_version: str
    embedding_i8: bytes
    def __init__(self, language: _Optional[str] = ..., language_confidence: _Optional[float] = ..., sentiment: _Optional[_Union[SentimentResult, _Mapping]] = ..., emotion: _Optional[_Union[EmotionResult, _Mapping]] = ..., aspects: _Optional[_Iterable[_Union[AspectResult, _Mapping]]] = ..., hashtags: _Optional[_Iterable[str]] = ..., mentions: _Optional[_Iterable[str]] = ..., urls: _Optional[_Iterable[str]] = ..., domains: _Optional[_Iterable[str]] = ..., cashtags: _Optional[_Iterable[str]] = ..., emojis: _Optional[_Iterable[str]] = ..., entities: _Optional[_Iterable[_Union[EntityMatch, _Mapping]]] = ..., neardup_keys: _Optional[_Iterable[str]] = ..., embedding: _Optional[_Iterable[float]] = ..., model_version: _Optional[str] = ..., embedding_i8: _Optional[bytes] = ...) -> None: ...

class EnrichedPost(_message.Message):
    __slots__ = ("post", "enrichment")
    POST_FIELD_NUMBER: _ClassVar[int]
    ENRICHMENT_FIELD_NUMBER: _ClassVar[int]
    post: Post
    enrichment: Enrichment
    def __init__(self, post: _Optional[_Union[Post, _Mapping]] = ..., enrichment: _Optional[_Union[Enrichment, _Mapping]] = ...) -> None: ...

class DeleteTenantDataRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class DeleteTenantDataResponse(_message.Message):
    __slots__ = ("removed",)
    class RemovedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: _containers.ScalarMap[str, int]
    def __init__(self, removed: _Optional[_Mapping[str, int]] = ...) -> None: ...
