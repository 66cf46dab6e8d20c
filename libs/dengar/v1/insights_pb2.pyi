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
