import datetime

from dengar.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SortOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SORT_ORDER_UNSPECIFIED: _ClassVar[SortOrder]
    SORT_ORDER_TIME_DESC: _ClassVar[SortOrder]
    SORT_ORDER_TIME_ASC: _ClassVar[SortOrder]
    SORT_ORDER_ENGAGEMENT_DESC: _ClassVar[SortOrder]

class Metric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METRIC_UNSPECIFIED: _ClassVar[Metric]
    METRIC_VOLUME: _ClassVar[Metric]
    METRIC_SENTIMENT: _ClassVar[Metric]

class Interval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERVAL_UNSPECIFIED: _ClassVar[Interval]
    INTERVAL_HOUR: _ClassVar[Interval]
    INTERVAL_DAY: _ClassVar[Interval]

class SpikeMetric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPIKE_METRIC_UNSPECIFIED: _ClassVar[SpikeMetric]
    SPIKE_METRIC_VOLUME: _ClassVar[SpikeMetric]
    SPIKE_METRIC_NEGATIVE: _ClassVar[SpikeMetric]
    SPIKE_METRIC_POSITIVE: _ClassVar[SpikeMetric]
    SPIKE_METRIC_NET_SENTIMENT: _ClassVar[SpikeMetric]

class AuthorRank(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTHOR_RANK_UNSPECIFIED: _ClassVar[AuthorRank]
    AUTHOR_RANK_VOLUME: _ClassVar[AuthorRank]
    AUTHOR_RANK_REACH: _ClassVar[AuthorRank]
    AUTHOR_RANK_ENGAGEMENT: _ClassVar[AuthorRank]
SORT_ORDER_UNSPECIFIED: SortOrder
SORT_ORDER_TIME_DESC: SortOrder
SORT_ORDER_TIME_ASC: SortOrder
SORT_ORDER_ENGAGEMENT_DESC: SortOrder
METRIC_UNSPECIFIED: Metric
METRIC_VOLUME: Metric
METRIC_SENTIMENT: Metric
INTERVAL_UNSPECIFIED: Interval
INTERVAL_HOUR: Interval
INTERVAL_DAY: Interval
SPIKE_METRIC_UNSPECIFIED: SpikeMetric
SPIKE_METRIC_VOLUME: SpikeMetric
SPIKE_METRIC_NEGATIVE: SpikeMetric
SPIKE_METRIC_POSITIVE: SpikeMetric
SPIKE_METRIC_NET_SENTIMENT: SpikeMetric
AUTHOR_RANK_UNSPECIFIED: AuthorRank
AUTHOR_RANK_VOLUME: AuthorRank
AUTHOR_RANK_REACH: AuthorRank
AUTHOR_RANK_ENGAGEMENT: AuthorRank

class Mention(_message.Message):
    __slots__ = ("id", "tenant_id", "post", "enrichment", "updated_at", "trace_id", "category_ids", "workflow")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    POST_FIELD_NUMBER: _ClassVar[int]
    ENRICHMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_IDS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    post: _common_pb2.Post
    enrichment: _common_pb2.Enrichment
    updated_at: _timestamp_pb2.Timestamp
    trace_id: str
    category_ids: _containers.RepeatedScalarFieldContainer[str]
    workflow: MentionWorkflow
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., post: _Optional[_Union[_common_pb2.Post, _Mapping]] = ..., enrichment: _Optional[_Union[_common_pb2.Enrichment, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trace_id: _Optional[str] = ..., category_ids: _Optional[_Iterable[str]] = ..., workflow: _Optional[_Union[MentionWorkflow, _Mapping]] = ...) -> None: ...

class SearchMentionsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "sentiments", "platforms", "languages", "aspects", "query", "page_size", "page_token", "sort", "query_ids", "category_ids", "workflow_states", "assignees", "tags")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SENTIMENTS_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    ASPECTS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    QUERY_IDS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_IDS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_STATES_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    sentiments: _containers.RepeatedScalarFieldContainer[_common_pb2.Sentiment]
    platforms: _containers.RepeatedScalarFieldContainer[_common_pb2.Platform]
    languages: _containers.RepeatedScalarFieldContainer[str]
    aspects: _containers.RepeatedScalarFieldContainer[str]
    query: str
    page_size: int
    page_token: str
    sort: SortOrder
    query_ids: _containers.RepeatedScalarFieldContainer[str]
    category_ids: _containers.RepeatedScalarFieldContainer[str]
    workflow_states: _containers.RepeatedScalarFieldContainer[str]
    assignees: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sentiments: _Optional[_Iterable[_Union[_common_pb2.Sentiment, str]]] = ..., platforms: _Optional[_Iterable[_Union[_common_pb2.Platform, str]]] = ..., languages: _Optional[_Iterable[str]] = ..., aspects: _Optional[_Iterable[str]] = ..., query: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., sort: _Optional[_Union[SortOrder, str]] = ..., query_ids: _Optional[_Iterable[str]] = ..., category_ids: _Optional[_Iterable[str]] = ..., workflow_states: _Optional[_Iterable[str]] = ..., assignees: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class SearchMentionsResponse(_message.Message):
    __slots__ = ("mentions", "next_page_token")
    MENTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    mentions: _containers.RepeatedCompositeFieldContainer[Mention]
    next_page_token: str
    def __init__(self, mentions: _Optional[_Iterable[_Union[Mention, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetMentionRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class GetTimeSeriesRequest(_message.Message):
    __slots__ = ("tenant_id", "metric", "interval", "start_time", "end_time", "query_id", "category_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    metric: Metric
    interval: Interval
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    category_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., metric: _Optional[_Union[Metric, str]] = ..., interval: _Optional[_Union[Interval, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ..., category_id: _Optional[str] = ...) -> None: ...

class TimeSeriesPoint(_message.Message):
    __slots__ = ("bucket_start", "volume", "negative", "neutral", "positive")
    BUCKET_START_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    bucket_start: _timestamp_pb2.Timestamp
    volume: int
    negative: int
    neutral: int
    positive: int
    def __init__(self, bucket_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., volume: _Optional[int] = ..., negative: _Optional[int] = ..., neutral: _Optional[int] = ..., positive: _Optional[int] = ...) -> None: ...

class GetTimeSeriesResponse(_message.Message):
    __slots__ = ("points", "total")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[TimeSeriesPoint]
    total: int
    def __init__(self, points: _Optional[_Iterable[_Union[TimeSeriesPoint, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class GetSummaryRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "query_id", "category_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    category_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ..., category_id: _Optional[str] = ...) -> None: ...

class CountItem(_message.Message):
    __slots__ = ("key", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    count: int
    def __init__(self, key: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class AspectSummary(_message.Message):
    __slots__ = ("name", "negative", "neutral", "positive")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    negative: int
    neutral: int
    positive: int
    def __init__(self, name: _Optional[str] = ..., negative: _Optional[int] = ..., neutral: _Optional[int] = ..., positive: _Optional[int] = ...) -> None: ...

class GetSummaryResponse(_message.Message):
    __slots__ = ("volume", "negative", "neutral", "positive", "aspects", "platforms", "languages")
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    ASPECTS_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    volume: int
    negative: int
    neutral: int
    positive: int
    aspects: _containers.RepeatedCompositeFieldContainer[AspectSummary]
    platforms: _containers.RepeatedCompositeFieldContainer[CountItem]
    languages: _containers.RepeatedCompositeFieldContainer[CountItem]
    def __init__(self, volume: _Optional[int] = ..., negative: _Optional[int] = ..., neutral: _Optional[int] = ..., positive: _Optional[int] = ..., aspects: _Optional[_Iterable[_Union[AspectSummary, _Mapping]]] = ..., platforms: _Optional[_Iterable[_Union[CountItem, _Mapping]]] = ..., languages: _Optional[_Iterable[_Union[CountItem, _Mapping]]] = ...) -> None: ...

class GetShareOfVoiceRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "query_ids", "interval")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_IDS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_ids: _containers.RepeatedScalarFieldContainer[str]
    interval: Interval
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_ids: _Optional[_Iterable[str]] = ..., interval: _Optional[_Union[Interval, str]] = ...) -> None: ...

class ShareOfVoiceItem(_message.Message):
    __slots__ = ("query_id", "volume", "share", "negative", "neutral", "positive", "net_sentiment", "points")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NET_SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    volume: int
    share: float
    negative: int
    neutral: int
    positive: int
    net_sentiment: float
    points: _containers.RepeatedCompositeFieldContainer[TimeSeriesPoint]
    def __init__(self, query_id: _Optional[str] = ..., volume: _Optional[int] = ..., share: _Optional[float] = ..., negative: _Optional[int] = ..., neutral: _Optional[int] = ..., positive: _Optional[int] = ..., net_sentiment: _Optional[float] = ..., points: _Optional[_Iterable[_Union[TimeSeriesPoint, _Mapping]]] = ...) -> None: ...

class GetShareOfVoiceResponse(_message.Message):
    __slots__ = ("items", "total")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ShareOfVoiceItem]
    total: int
    def __init__(self, items: _Optional[_Iterable[_Union[ShareOfVoiceItem, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class GetSpikesRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "interval", "metric", "query_id", "evidence_per_driver")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_PER_DRIVER_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    interval: Interval
    metric: SpikeMetric
    query_id: str
    evidence_per_driver: int
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., interval: _Optional[_Union[Interval, str]] = ..., metric: _Optional[_Union[SpikeMetric, str]] = ..., query_id: _Optional[str] = ..., evidence_per_driver: _Optional[int] = ...) -> None: ...

class Driver(_message.Message):
    __slots__ = ("kind", "value", "count", "baseline_count", "lift", "score", "evidence_mention_ids", "evidence", "terms")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    BASELINE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LIFT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_MENTION_IDS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    value: str
    count: int
    baseline_count: int
    lift: float
    score: float
    evidence_mention_ids: _containers.RepeatedScalarFieldContainer[str]
    evidence: _containers.RepeatedCompositeFieldContainer[Mention]
    terms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kind: _Optional[str] = ..., value: _Optional[str] = ..., count: _Optional[int] = ..., baseline_count: _Optional[int] = ..., lift: _Optional[float] = ..., score: _Optional[float] = ..., evidence_mention_ids: _Optional[_Iterable[str]] = ..., evidence: _Optional[_Iterable[_Union[Mention, _Mapping]]] = ..., terms: _Optional[_Iterable[str]] = ...) -> None: ...

class Spike(_message.Message):
    __slots__ = ("start_time", "end_time", "observed", "expected", "score", "severity", "confidence", "drivers", "peak_time", "volume", "baseline_start_time", "baseline_end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    DRIVERS_FIELD_NUMBER: _ClassVar[int]
    PEAK_TIME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    BASELINE_START_TIME_FIELD_NUMBER: _ClassVar[int]
    BASELINE_END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    observed: float
    expected: float
    score: float
    severity: str
    confidence: str
    drivers: _containers.RepeatedCompositeFieldContainer[Driver]
    peak_time: _timestamp_pb2.Timestamp
    volume: int
    baseline_start_time: _timestamp_pb2.Timestamp
    baseline_end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., observed: _Optional[float] = ..., expected: _Optional[float] = ..., score: _Optional[float] = ..., severity: _Optional[str] = ..., confidence: _Optional[str] = ..., drivers: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ..., peak_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., volume: _Optional[int] = ..., baseline_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., baseline_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSpikesResponse(_message.Message):
    __slots__ = ("spikes", "confidence", "unjudged_buckets")
    SPIKES_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    UNJUDGED_BUCKETS_FIELD_NUMBER: _ClassVar[int]
    spikes: _containers.RepeatedCompositeFieldContainer[Spike]
    confidence: str
    unjudged_buckets: int
    def __init__(self, spikes: _Optional[_Iterable[_Union[Spike, _Mapping]]] = ..., confidence: _Optional[str] = ..., unjudged_buckets: _Optional[int] = ...) -> None: ...

class QueryRef(_message.Message):
    __slots__ = ("id", "name", "role")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    role: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class ComparePeriodsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "query_id", "queries")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    queries: _containers.RepeatedCompositeFieldContainer[QueryRef]
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ..., queries: _Optional[_Iterable[_Union[QueryRef, _Mapping]]] = ...) -> None: ...

class Delta(_message.Message):
    __slots__ = ("current", "previous", "absolute", "relative")
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    ABSOLUTE_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_FIELD_NUMBER: _ClassVar[int]
    current: float
    previous: float
    absolute: float
    relative: float
    def __init__(self, current: _Optional[float] = ..., previous: _Optional[float] = ..., absolute: _Optional[float] = ..., relative: _Optional[float] = ...) -> None: ...

class NamedDelta(_message.Message):
    __slots__ = ("name", "delta")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    name: str
    delta: Delta
    def __init__(self, name: _Optional[str] = ..., delta: _Optional[_Union[Delta, _Mapping]] = ...) -> None: ...

class AspectDelta(_message.Message):
    __slots__ = ("name", "polarity")
    class PolarityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Delta
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Delta, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLARITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    polarity: _containers.MessageMap[str, Delta]
    def __init__(self, name: _Optional[str] = ..., polarity: _Optional[_Mapping[str, Delta]] = ...) -> None: ...

class ComparePeriodsResponse(_message.Message):
    __slots__ = ("start_time", "end_time", "previous_start_time", "volume", "sentiment", "sentiment_share", "net_sentiment", "share_of_voice", "share_of_voice_volume", "aspects", "terms")
    class SentimentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Delta
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Delta, _Mapping]] = ...) -> None: ...
    class SentimentShareEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Delta
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Delta, _Mapping]] = ...) -> None: ...
    class ShareOfVoiceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Delta
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Delta, _Mapping]] = ...) -> None: ...
    class ShareOfVoiceVolumeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Delta
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Delta, _Mapping]] = ...) -> None: ...
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_START_TIME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_SHARE_FIELD_NUMBER: _ClassVar[int]
    NET_SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    SHARE_OF_VOICE_FIELD_NUMBER: _ClassVar[int]
    SHARE_OF_VOICE_VOLUME_FIELD_NUMBER: _ClassVar[int]
    ASPECTS_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    previous_start_time: _timestamp_pb2.Timestamp
    volume: Delta
    sentiment: _containers.MessageMap[str, Delta]
    sentiment_share: _containers.MessageMap[str, Delta]
    net_sentiment: Delta
    share_of_voice: _containers.MessageMap[str, Delta]
    share_of_voice_volume: _containers.MessageMap[str, Delta]
    aspects: _containers.RepeatedCompositeFieldContainer[AspectDelta]
    terms: _containers.RepeatedCompositeFieldContainer[NamedDelta]
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., volume: _Optional[_Union[Delta, _Mapping]] = ..., sentiment: _Optional[_Mapping[str, Delta]] = ..., sentiment_share: _Optional[_Mapping[str, Delta]] = ..., net_sentiment: _Optional[_Union[Delta, _Mapping]] = ..., share_of_voice: _Optional[_Mapping[str, Delta]] = ..., share_of_voice_volume: _Optional[_Mapping[str, Delta]] = ..., aspects: _Optional[_Iterable[_Union[AspectDelta, _Mapping]]] = ..., terms: _Optional[_Iterable[_Union[NamedDelta, _Mapping]]] = ...) -> None: ...

class GetBriefRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "query_id", "lang", "limit", "time_zone", "queries")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    LANG_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    lang: str
    limit: int
    time_zone: str
    queries: _containers.RepeatedCompositeFieldContainer[QueryRef]
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ..., lang: _Optional[str] = ..., limit: _Optional[int] = ..., time_zone: _Optional[str] = ..., queries: _Optional[_Iterable[_Union[QueryRef, _Mapping]]] = ...) -> None: ...

class MetricValue(_message.Message):
    __slots__ = ("int_value", "number_value", "text_value")
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_VALUE_FIELD_NUMBER: _ClassVar[int]
    TEXT_VALUE_FIELD_NUMBER: _ClassVar[int]
    int_value: int
    number_value: float
    text_value: str
    def __init__(self, int_value: _Optional[int] = ..., number_value: _Optional[float] = ..., text_value: _Optional[str] = ...) -> None: ...

class InsightCard(_message.Message):
    __slots__ = ("type", "title", "narrative", "impact", "metrics", "drivers", "evidence_mention_ids", "filters")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetricValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetricValue, _Mapping]] = ...) -> None: ...
    class FiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    NARRATIVE_FIELD_NUMBER: _ClassVar[int]
    IMPACT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DRIVERS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_MENTION_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    type: str
    title: str
    narrative: str
    impact: float
    metrics: _containers.MessageMap[str, MetricValue]
    drivers: _containers.RepeatedCompositeFieldContainer[Driver]
    evidence_mention_ids: _containers.RepeatedScalarFieldContainer[str]
    filters: _containers.ScalarMap[str, str]
    def __init__(self, type: _Optional[str] = ..., title: _Optional[str] = ..., narrative: _Optional[str] = ..., impact: _Optional[float] = ..., metrics: _Optional[_Mapping[str, MetricValue]] = ..., drivers: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ..., evidence_mention_ids: _Optional[_Iterable[str]] = ..., filters: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetBriefResponse(_message.Message):
    __slots__ = ("cards", "lang")
    CARDS_FIELD_NUMBER: _ClassVar[int]
    LANG_FIELD_NUMBER: _ClassVar[int]
    cards: _containers.RepeatedCompositeFieldContainer[InsightCard]
    lang: str
    def __init__(self, cards: _Optional[_Iterable[_Union[InsightCard, _Mapping]]] = ..., lang: _Optional[str] = ...) -> None: ...

class GetTopAuthorsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "query_id", "rank_by", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    RANK_BY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    rank_by: AuthorRank
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ..., rank_by: _Optional[_Union[AuthorRank, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class TopAuthor(_message.Message):
    __slots__ = ("platform", "author_id", "handle", "display_name", "verified", "followers", "mentions", "engagement", "negative", "neutral", "positive", "net_sentiment", "sample_mention_ids")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    FOLLOWERS_FIELD_NUMBER: _ClassVar[int]
    MENTIONS_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NET_SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_MENTION_IDS_FIELD_NUMBER: _ClassVar[int]
    platform: str
    author_id: str
    handle: str
    display_name: str
    verified: bool
    followers: int
    mentions: int
    engagement: int
    negative: int
    neutral: int
    positive: int
    net_sentiment: float
    sample_mention_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, platform: _Optional[str] = ..., author_id: _Optional[str] = ..., handle: _Optional[str] = ..., display_name: _Optional[str] = ..., verified: _Optional[bool] = ..., followers: _Optional[int] = ..., mentions: _Optional[int] = ..., engagement: _Optional[int] = ..., negative: _Optional[int] = ..., neutral: _Optional[int] = ..., positive: _Optional[int] = ..., net_sentiment: _Optional[float] = ..., sample_mention_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetTopAuthorsResponse(_message.Message):
    __slots__ = ("authors",)
    AUTHORS_FIELD_NUMBER: _ClassVar[int]
    authors: _containers.RepeatedCompositeFieldContainer[TopAuthor]
    def __init__(self, authors: _Optional[_Iterable[_Union[TopAuthor, _Mapping]]] = ...) -> None: ...

class GetTopPostsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "query_id", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class GetTopPostsResponse(_message.Message):
    __slots__ = ("mentions",)
    MENTIONS_FIELD_NUMBER: _ClassVar[int]
    mentions: _containers.RepeatedCompositeFieldContainer[Mention]
    def __init__(self, mentions: _Optional[_Iterable[_Union[Mention, _Mapping]]] = ...) -> None: ...

class GetCampaignsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "query_id", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class CampaignPost(_message.Message):
    __slots__ = ("mention_id", "author", "text", "created_at", "platform")
    MENTION_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    mention_id: str
    author: str
    text: str
    created_at: _timestamp_pb2.Timestamp
    platform: str
    def __init__(self, mention_id: _Optional[str] = ..., author: _Optional[str] = ..., text: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., platform: _Optional[str] = ...) -> None: ...

class Campaign(_message.Message):
    __slots__ = ("cluster", "posts", "authors", "start_time", "end_time", "first_post", "sample_text", "common_terms", "platforms", "query_ids", "evidence_mention_ids", "filters")
    class FiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    POSTS_FIELD_NUMBER: _ClassVar[int]
    AUTHORS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FIRST_POST_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_TEXT_FIELD_NUMBER: _ClassVar[int]
    COMMON_TERMS_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    QUERY_IDS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_MENTION_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    posts: int
    authors: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    first_post: CampaignPost
    sample_text: str
    common_terms: _containers.RepeatedScalarFieldContainer[str]
    platforms: _containers.RepeatedScalarFieldContainer[str]
    query_ids: _containers.RepeatedScalarFieldContainer[str]
    evidence_mention_ids: _containers.RepeatedScalarFieldContainer[str]
    filters: _containers.ScalarMap[str, str]
    def __init__(self, cluster: _Optional[str] = ..., posts: _Optional[int] = ..., authors: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_post: _Optional[_Union[CampaignPost, _Mapping]] = ..., sample_text: _Optional[str] = ..., common_terms: _Optional[_Iterable[str]] = ..., platforms: _Optional[_Iterable[str]] = ..., query_ids: _Optional[_Iterable[str]] = ..., evidence_mention_ids: _Optional[_Iterable[str]] = ..., filters: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetCampaignsResponse(_message.Message):
    __slots__ = ("campaigns", "sampled_mentions")
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_MENTIONS_FIELD_NUMBER: _ClassVar[int]
    campaigns: _containers.RepeatedCompositeFieldContainer[Campaign]
    sampled_mentions: int
    def __init__(self, campaigns: _Optional[_Iterable[_Union[Campaign, _Mapping]]] = ..., sampled_mentions: _Optional[int] = ...) -> None: ...

class GetBackfillRequest(_message.Message):
    __slots__ = ("tenant_id", "kind", "target_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    kind: str
    target_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., kind: _Optional[str] = ..., target_id: _Optional[str] = ...) -> None: ...

class ListBackfillsRequest(_message.Message):
    __slots__ = ("tenant_id", "kind", "target_ids")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_IDS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    kind: str
    target_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., kind: _Optional[str] = ..., target_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Backfill(_message.Message):
    __slots__ = ("kind", "target_id", "target_version", "state", "scanned", "total", "matched", "changed", "since", "started_at", "finished_at", "error")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SCANNED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    kind: str
    target_id: str
    target_version: int
    state: str
    scanned: int
    total: int
    matched: int
    changed: int
    since: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    error: str
    def __init__(self, kind: _Optional[str] = ..., target_id: _Optional[str] = ..., target_version: _Optional[int] = ..., state: _Optional[str] = ..., scanned: _Optional[int] = ..., total: _Optional[int] = ..., matched: _Optional[int] = ..., changed: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class ListBackfillsResponse(_message.Message):
    __slots__ = ("backfills",)
    BACKFILLS_FIELD_NUMBER: _ClassVar[int]
    backfills: _containers.RepeatedCompositeFieldContainer[Backfill]
    def __init__(self, backfills: _Optional[_Iterable[_Union[Backfill, _Mapping]]] = ...) -> None: ...

class CategoryCalibration(_message.Message):
    __slots__ = ("member_median", "member_min", "background_p90", "background_p95", "background_size")
    MEMBER_MEDIAN_FIELD_NUMBER: _ClassVar[int]
    MEMBER_MIN_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_P90_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_P95_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_SIZE_FIELD_NUMBER: _ClassVar[int]
    member_median: float
    member_min: float
    background_p90: float
    background_p95: float
    background_size: int
    def __init__(self, member_median: _Optional[float] = ..., member_min: _Optional[float] = ..., background_p90: _Optional[float] = ..., background_p95: _Optional[float] = ..., background_size: _Optional[int] = ...) -> None: ...

class Category(_message.Message):
    __slots__ = ("id", "tenant_id", "name", "expression", "examples", "threshold", "calibration", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    name: str
    expression: str
    examples: _containers.RepeatedScalarFieldContainer[str]
    threshold: float
    calibration: CategoryCalibration
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., expression: _Optional[str] = ..., examples: _Optional[_Iterable[str]] = ..., threshold: _Optional[float] = ..., calibration: _Optional[_Union[CategoryCalibration, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CategoryExamples(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateCategoryRequest(_message.Message):
    __slots__ = ("tenant_id", "name", "expression", "examples")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    name: str
    expression: str
    examples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., expression: _Optional[str] = ..., examples: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCategoryRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[Category]
    def __init__(self, categories: _Optional[_Iterable[_Union[Category, _Mapping]]] = ...) -> None: ...

class UpdateCategoryRequest(_message.Message):
    __slots__ = ("tenant_id", "id", "name", "expression", "examples")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    name: str
    expression: str
    examples: CategoryExamples
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., name: _Optional[str] = ..., expression: _Optional[str] = ..., examples: _Optional[_Union[CategoryExamples, _Mapping]] = ...) -> None: ...

class DeleteCategoryRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteCategoryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTopicsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "query_id", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class TopicRepresentative(_message.Message):
    __slots__ = ("id", "snippet")
    ID_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_FIELD_NUMBER: _ClassVar[int]
    id: str
    snippet: str
    def __init__(self, id: _Optional[str] = ..., snippet: _Optional[str] = ...) -> None: ...

class EmergingTopic(_message.Message):
    __slots__ = ("id", "keywords", "volume", "share", "negative", "neutral", "positive", "aspects", "representatives", "previous_volume", "change", "relative_change", "status", "cohesion")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    ASPECTS_FIELD_NUMBER: _ClassVar[int]
    REPRESENTATIVES_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VOLUME_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COHESION_FIELD_NUMBER: _ClassVar[int]
    id: str
    keywords: _containers.RepeatedScalarFieldContainer[str]
    volume: int
    share: float
    negative: int
    neutral: int
    positive: int
    aspects: _containers.RepeatedCompositeFieldContainer[CountItem]
    representatives: _containers.RepeatedCompositeFieldContainer[TopicRepresentative]
    previous_volume: int
    change: int
    relative_change: float
    status: str
    cohesion: float
    def __init__(self, id: _Optional[str] = ..., keywords: _Optional[_Iterable[str]] = ..., volume: _Optional[int] = ..., share: _Optional[float] = ..., negative: _Optional[int] = ..., neutral: _Optional[int] = ..., positive: _Optional[int] = ..., aspects: _Optional[_Iterable[_Union[CountItem, _Mapping]]] = ..., representatives: _Optional[_Iterable[_Union[TopicRepresentative, _Mapping]]] = ..., previous_volume: _Optional[int] = ..., change: _Optional[int] = ..., relative_change: _Optional[float] = ..., status: _Optional[str] = ..., cohesion: _Optional[float] = ...) -> None: ...

class GetTopicsResponse(_message.Message):
    __slots__ = ("start_time", "end_time", "previous_start_time", "topics", "volume", "previous_volume", "sampled", "previous_sampled", "estimated")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_START_TIME_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VOLUME_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SAMPLED_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    previous_start_time: _timestamp_pb2.Timestamp
    topics: _containers.RepeatedCompositeFieldContainer[EmergingTopic]
    volume: int
    previous_volume: int
    sampled: int
    previous_sampled: int
    estimated: bool
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., topics: _Optional[_Iterable[_Union[EmergingTopic, _Mapping]]] = ..., volume: _Optional[int] = ..., previous_volume: _Optional[int] = ..., sampled: _Optional[int] = ..., previous_sampled: _Optional[int] = ..., estimated: _Optional[bool] = ...) -> None: ...

class MentionNote(_message.Message):
    __slots__ = ("author", "text", "created_at")
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    author: str
    text: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, author: _Optional[str] = ..., text: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MentionWorkflow(_message.Message):
    __slots__ = ("state", "assignee", "tags", "notes", "version", "updated_at", "updated_by")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    state: str
    assignee: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    notes: _containers.RepeatedCompositeFieldContainer[MentionNote]
    version: int
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, state: _Optional[str] = ..., assignee: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., notes: _Optional[_Iterable[_Union[MentionNote, _Mapping]]] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class TagList(_message.Message):
    __slots__ = ("tags",)
    TAGS_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tags: _Optional[_Iterable[str]] = ...) -> None: ...

class WorkflowChange(_message.Message):
    __slots__ = ("state", "assignee", "tags", "add_tags", "remove_tags", "note")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ADD_TAGS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_TAGS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    state: str
    assignee: str
    tags: TagList
    add_tags: _containers.RepeatedScalarFieldContainer[str]
    remove_tags: _containers.RepeatedScalarFieldContainer[str]
    note: str
    def __init__(self, state: _Optional[str] = ..., assignee: _Optional[str] = ..., tags: _Optional[_Union[TagList, _Mapping]] = ..., add_tags: _Optional[_Iterable[str]] = ..., remove_tags: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ...) -> None: ...

class UpdateMentionWorkflowRequest(_message.Message):
    __slots__ = ("tenant_id", "id", "change", "actor", "expected_version")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    change: WorkflowChange
    actor: str
    expected_version: int
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., change: _Optional[_Union[WorkflowChange, _Mapping]] = ..., actor: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class BulkUpdateMentionWorkflowRequest(_message.Message):
    __slots__ = ("tenant_id", "ids", "change", "actor", "filter")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    change: WorkflowChange
    actor: str
    filter: SearchMentionsRequest
    def __init__(self, tenant_id: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., change: _Optional[_Union[WorkflowChange, _Mapping]] = ..., actor: _Optional[str] = ..., filter: _Optional[_Union[SearchMentionsRequest, _Mapping]] = ...) -> None: ...

class BulkUpdateMentionWorkflowResponse(_message.Message):
    __slots__ = ("updated_ids", "missing_ids")
    UPDATED_IDS_FIELD_NUMBER: _ClassVar[int]
    MISSING_IDS_FIELD_NUMBER: _ClassVar[int]
    updated_ids: _containers.RepeatedScalarFieldContainer[str]
    missing_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, updated_ids: _Optional[_Iterable[str]] = ..., missing_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetInboxCountsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetInboxCountsResponse(_message.Message):
    __slots__ = ("open", "in_progress", "resolved", "ignored")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    IGNORED_FIELD_NUMBER: _ClassVar[int]
    open: int
    in_progress: int
    resolved: int
    ignored: int
    def __init__(self, open: _Optional[int] = ..., in_progress: _Optional[int] = ..., resolved: _Optional[int] = ..., ignored: _Optional[int] = ...) -> None: ...

class ListMentionAuditRequest(_message.Message):
    __slots__ = ("tenant_id", "id", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class MentionAuditEntry(_message.Message):
    __slots__ = ("actor", "at", "field", "old_json", "new_json", "version")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OLD_JSON_FIELD_NUMBER: _ClassVar[int]
    NEW_JSON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    actor: str
    at: _timestamp_pb2.Timestamp
    field: str
    old_json: str
    new_json: str
    version: int
    def __init__(self, actor: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., field: _Optional[str] = ..., old_json: _Optional[str] = ..., new_json: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ListMentionAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[MentionAuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[MentionAuditEntry, _Mapping]]] = ...) -> None: ...

class ExportMentionsResponse(_message.Message):
    __slots__ = ("mentions",)
    MENTIONS_FIELD_NUMBER: _ClassVar[int]
    mentions: _containers.RepeatedCompositeFieldContainer[Mention]
    def __init__(self, mentions: _Optional[_Iterable[_Union[Mention, _Mapping]]] = ...) -> None: ...

class StreamMentionsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "sentiments", "platforms", "languages", "aspects", "query", "query_ids", "category_ids", "resume_after", "workflow_states", "assignees", "tags")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SENTIMENTS_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    ASPECTS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    QUERY_IDS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_IDS_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_STATES_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    sentiments: _containers.RepeatedScalarFieldContainer[_common_pb2.Sentiment]
    platforms: _containers.RepeatedScalarFieldContainer[_common_pb2.Platform]
    languages: _containers.RepeatedScalarFieldContainer[str]
    aspects: _containers.RepeatedScalarFieldContainer[str]
    query: str
    query_ids: _containers.RepeatedScalarFieldContainer[str]
    category_ids: _containers.RepeatedScalarFieldContainer[str]
    resume_after: str
    workflow_states: _containers.RepeatedScalarFieldContainer[str]
    assignees: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sentiments: _Optional[_Iterable[_Union[_common_pb2.Sentiment, str]]] = ..., platforms: _Optional[_Iterable[_Union[_common_pb2.Platform, str]]] = ..., languages: _Optional[_Iterable[str]] = ..., aspects: _Optional[_Iterable[str]] = ..., query: _Optional[str] = ..., query_ids: _Optional[_Iterable[str]] = ..., category_ids: _Optional[_Iterable[str]] = ..., resume_after: _Optional[str] = ..., workflow_states: _Optional[_Iterable[str]] = ..., assignees: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamedMention(_message.Message):
    __slots__ = ("position", "mention")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    MENTION_FIELD_NUMBER: _ClassVar[int]
    position: str
    mention: Mention
    def __init__(self, position: _Optional[str] = ..., mention: _Optional[_Union[Mention, _Mapping]] = ...) -> None: ...

class Channel(_message.Message):
    __slots__ = ("id", "tenant_id", "name", "kind", "url", "format", "recipients", "language", "created_at", "updated_at", "secret")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    name: str
    kind: str
    url: str
    format: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    language: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    secret: str
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., url: _Optional[str] = ..., format: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., language: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ChannelSpec(_message.Message):
    __slots__ = ("name", "kind", "url", "format", "recipients", "language")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    url: str
    format: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    language: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., url: _Optional[str] = ..., format: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., language: _Optional[str] = ...) -> None: ...

class CreateChannelRequest(_message.Message):
    __slots__ = ("tenant_id", "channel")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    channel: ChannelSpec
    def __init__(self, tenant_id: _Optional[str] = ..., channel: _Optional[_Union[ChannelSpec, _Mapping]] = ...) -> None: ...

class GetChannelRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListChannelsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListChannelsResponse(_message.Message):
    __slots__ = ("channels",)
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[Channel]
    def __init__(self, channels: _Optional[_Iterable[_Union[Channel, _Mapping]]] = ...) -> None: ...

class UpdateChannelRequest(_message.Message):
    __slots__ = ("tenant_id", "id", "channel")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    channel: ChannelSpec
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., channel: _Optional[_Union[ChannelSpec, _Mapping]] = ...) -> None: ...

class DeleteChannelRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteChannelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RotateChannelSecretRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ChannelDeliveryAttempt(_message.Message):
    __slots__ = ("at", "status", "latency_ms", "error")
    AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    status: int
    latency_ms: int
    error: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[int] = ..., latency_ms: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class ChannelDelivery(_message.Message):
    __slots__ = ("id", "tenant_id", "key", "channel_id", "state", "attempts", "next_attempt_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    key: str
    channel_id: str
    state: str
    attempts: _containers.RepeatedCompositeFieldContainer[ChannelDeliveryAttempt]
    next_attempt_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., key: _Optional[str] = ..., channel_id: _Optional[str] = ..., state: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[ChannelDeliveryAttempt, _Mapping]]] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("tenant_id", "key", "state", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    key: str
    state: str
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., key: _Optional[str] = ..., state: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[ChannelDelivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[ChannelDelivery, _Mapping]]] = ...) -> None: ...

class GetDeliveryRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class RedeliverRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DigestSpec(_message.Message):
    __slots__ = ("name", "frequency", "time", "time_zone", "language", "channel_ids", "weekday")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    name: str
    frequency: str
    time: str
    time_zone: str
    language: str
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    weekday: str
    def __init__(self, name: _Optional[str] = ..., frequency: _Optional[str] = ..., time: _Optional[str] = ..., time_zone: _Optional[str] = ..., language: _Optional[str] = ..., channel_ids: _Optional[_Iterable[str]] = ..., weekday: _Optional[str] = ...) -> None: ...

class Digest(_message.Message):
    __slots__ = ("id", "tenant_id", "digest", "next_run_at", "last_period_start", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    digest: DigestSpec
    next_run_at: _timestamp_pb2.Timestamp
    last_period_start: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., digest: _Optional[_Union[DigestSpec, _Mapping]] = ..., next_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateDigestRequest(_message.Message):
    __slots__ = ("tenant_id", "digest")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    digest: DigestSpec
    def __init__(self, tenant_id: _Optional[str] = ..., digest: _Optional[_Union[DigestSpec, _Mapping]] = ...) -> None: ...

class GetDigestRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListDigestsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListDigestsResponse(_message.Message):
    __slots__ = ("digests",)
    DIGESTS_FIELD_NUMBER: _ClassVar[int]
    digests: _containers.RepeatedCompositeFieldContainer[Digest]
    def __init__(self, digests: _Optional[_Iterable[_Union[Digest, _Mapping]]] = ...) -> None: ...

class UpdateDigestRequest(_message.Message):
    __slots__ = ("tenant_id", "id", "digest")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    digest: DigestSpec
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., digest: _Optional[_Union[DigestSpec, _Mapping]] = ...) -> None: ...

class DeleteDigestRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteDigestResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AlertQuietHours(_message.Message):
    __slots__ = ("start", "end", "time_zone")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    time_zone: str
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class AlertRuleSpec(_message.Message):
    __slots__ = ("name", "condition", "severity", "query_id", "metric", "threshold", "window_minutes", "min_volume", "expression", "cooldown_s", "quiet_hours", "channel_ids", "enabled")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MIN_VOLUME_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_S_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    name: str
    condition: str
    severity: str
    query_id: str
    metric: str
    threshold: float
    window_minutes: int
    min_volume: int
    expression: str
    cooldown_s: int
    quiet_hours: AlertQuietHours
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    enabled: bool
    def __init__(self, name: _Optional[str] = ..., condition: _Optional[str] = ..., severity: _Optional[str] = ..., query_id: _Optional[str] = ..., metric: _Optional[str] = ..., threshold: _Optional[float] = ..., window_minutes: _Optional[int] = ..., min_volume: _Optional[int] = ..., expression: _Optional[str] = ..., cooldown_s: _Optional[int] = ..., quiet_hours: _Optional[_Union[AlertQuietHours, _Mapping]] = ..., channel_ids: _Optional[_Iterable[str]] = ..., enabled: _Optional[bool] = ...) -> None: ...

class AlertRule(_message.Message):
    __slots__ = ("id", "tenant_id", "spec", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    spec: AlertRuleSpec
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., spec: _Optional[_Union[AlertRuleSpec, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAlertRuleRequest(_message.Message):
    __slots__ = ("tenant_id", "spec")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    spec: AlertRuleSpec
    def __init__(self, tenant_id: _Optional[str] = ..., spec: _Optional[_Union[AlertRuleSpec, _Mapping]] = ...) -> None: ...

class GetAlertRuleRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListAlertRulesRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListAlertRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[AlertRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[AlertRule, _Mapping]]] = ...) -> None: ...

class UpdateAlertRuleRequest(_message.Message):
    __slots__ = ("tenant_id", "id", "spec", "fields")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    spec: AlertRuleSpec
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., spec: _Optional[_Union[AlertRuleSpec, _Mapping]] = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteAlertRuleRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteAlertRuleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AlertDeliveryAttempt(_message.Message):
    __slots__ = ("at", "status", "latency_ms", "error")
    AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    status: int
    latency_ms: int
    error: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[int] = ..., latency_ms: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class AlertDelivery(_message.Message):
    __slots__ = ("id", "channel_id", "state", "key", "attempts")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    channel_id: str
    state: str
    key: str
    attempts: _containers.RepeatedCompositeFieldContainer[AlertDeliveryAttempt]
    def __init__(self, id: _Optional[str] = ..., channel_id: _Optional[str] = ..., state: _Optional[str] = ..., key: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[AlertDeliveryAttempt, _Mapping]]] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("id", "tenant_id", "rule_id", "rule_name", "condition", "scope", "severity", "state", "summary", "fired_at", "resolved_at", "evidence_ids", "filters", "deliveries")
    class FiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    FIRED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    rule_id: str
    rule_name: str
    condition: str
    scope: str
    severity: str
    state: str
    summary: str
    fired_at: _timestamp_pb2.Timestamp
    resolved_at: _timestamp_pb2.Timestamp
    evidence_ids: _containers.RepeatedScalarFieldContainer[str]
    filters: _containers.ScalarMap[str, str]
    deliveries: _containers.RepeatedCompositeFieldContainer[AlertDelivery]
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., rule_id: _Optional[str] = ..., rule_name: _Optional[str] = ..., condition: _Optional[str] = ..., scope: _Optional[str] = ..., severity: _Optional[str] = ..., state: _Optional[str] = ..., summary: _Optional[str] = ..., fired_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evidence_ids: _Optional[_Iterable[str]] = ..., filters: _Optional[_Mapping[str, str]] = ..., deliveries: _Optional[_Iterable[_Union[AlertDelivery, _Mapping]]] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("tenant_id", "state", "rule_id", "start_time", "end_time", "limit", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    state: str
    rule_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    limit: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., state: _Optional[str] = ..., rule_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts", "next_page_token")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    next_page_token: str
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetAlertRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class SetRetentionRequest(_message.Message):
    __slots__ = ("tenant_id", "days", "forever")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    FOREVER_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    days: int
    forever: bool
    def __init__(self, tenant_id: _Optional[str] = ..., days: _Optional[int] = ..., forever: _Optional[bool] = ...) -> None: ...

class GetRetentionRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class Retention(_message.Message):
    __slots__ = ("tenant_id", "days", "is_default")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    days: int
    is_default: bool
    def __init__(self, tenant_id: _Optional[str] = ..., days: _Optional[int] = ..., is_default: _Optional[bool] = ...) -> None: ...
