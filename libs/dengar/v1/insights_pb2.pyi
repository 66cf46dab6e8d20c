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

class Mention(_message.Message):
    __slots__ = ("id", "tenant_id", "post", "enrichment", "updated_at", "trace_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    POST_FIELD_NUMBER: _ClassVar[int]
    ENRICHMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    post: _common_pb2.Post
    enrichment: _common_pb2.Enrichment
    updated_at: _timestamp_pb2.Timestamp
    trace_id: str
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., post: _Optional[_Union[_common_pb2.Post, _Mapping]] = ..., enrichment: _Optional[_Union[_common_pb2.Enrichment, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trace_id: _Optional[str] = ...) -> None: ...

class SearchMentionsRequest(_message.Message):
    __slots__ = ("tenant_id", "start_time", "end_time", "sentiments", "platforms", "languages", "aspects", "query", "page_size", "page_token", "sort", "query_ids")
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
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sentiments: _Optional[_Iterable[_Union[_common_pb2.Sentiment, str]]] = ..., platforms: _Optional[_Iterable[_Union[_common_pb2.Platform, str]]] = ..., languages: _Optional[_Iterable[str]] = ..., aspects: _Optional[_Iterable[str]] = ..., query: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., sort: _Optional[_Union[SortOrder, str]] = ..., query_ids: _Optional[_Iterable[str]] = ...) -> None: ...

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
    __slots__ = ("tenant_id", "metric", "interval", "start_time", "end_time", "query_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    metric: Metric
    interval: Interval
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., metric: _Optional[_Union[Metric, str]] = ..., interval: _Optional[_Union[Interval, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("tenant_id", "start_time", "end_time", "query_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    query_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., query_id: _Optional[str] = ...) -> None: ...

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
