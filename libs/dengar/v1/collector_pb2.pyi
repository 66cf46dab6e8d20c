import datetime

from dengar.v1 import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueryRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUERY_ROLE_UNSPECIFIED: _ClassVar[QueryRole]
    QUERY_ROLE_BRAND: _ClassVar[QueryRole]
    QUERY_ROLE_COMPETITOR: _ClassVar[QueryRole]
    QUERY_ROLE_TOPIC: _ClassVar[QueryRole]

class SourceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_STATUS_UNSPECIFIED: _ClassVar[SourceStatus]
    SOURCE_STATUS_ACTIVE: _ClassVar[SourceStatus]
    SOURCE_STATUS_PAUSED: _ClassVar[SourceStatus]
    SOURCE_STATUS_ERROR: _ClassVar[SourceStatus]

class ImportState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_STATE_UNSPECIFIED: _ClassVar[ImportState]
    IMPORT_STATE_QUEUED: _ClassVar[ImportState]
    IMPORT_STATE_RUNNING: _ClassVar[ImportState]
    IMPORT_STATE_SUCCEEDED: _ClassVar[ImportState]
    IMPORT_STATE_FAILED: _ClassVar[ImportState]
QUERY_ROLE_UNSPECIFIED: QueryRole
QUERY_ROLE_BRAND: QueryRole
QUERY_ROLE_COMPETITOR: QueryRole
QUERY_ROLE_TOPIC: QueryRole
SOURCE_STATUS_UNSPECIFIED: SourceStatus
SOURCE_STATUS_ACTIVE: SourceStatus
SOURCE_STATUS_PAUSED: SourceStatus
SOURCE_STATUS_ERROR: SourceStatus
IMPORT_STATE_UNSPECIFIED: ImportState
IMPORT_STATE_QUEUED: ImportState
IMPORT_STATE_RUNNING: ImportState
IMPORT_STATE_SUCCEEDED: ImportState
IMPORT_STATE_FAILED: ImportState

class IngestPostsRequest(_message.Message):
    __slots__ = ("tenant_id", "posts")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    POSTS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    posts: _containers.RepeatedCompositeFieldContainer[_common_pb2.Post]
    def __init__(self, tenant_id: _Optional[str] = ..., posts: _Optional[_Iterable[_Union[_common_pb2.Post, _Mapping]]] = ...) -> None: ...

class IngestError(_message.Message):
    __slots__ = ("index", "field", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    field: str
    message: str
    def __init__(self, index: _Optional[int] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class IngestPostsResponse(_message.Message):
    __slots__ = ("accepted", "rejected", "errors", "post_ids")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    POST_IDS_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: int
    errors: _containers.RepeatedCompositeFieldContainer[IngestError]
    post_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[IngestError, _Mapping]]] = ..., post_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListeningQuery(_message.Message):
    __slots__ = ("id", "tenant_id", "name", "role", "expression", "enabled", "created_at", "updated_at", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    name: str
    role: QueryRole
    expression: str
    enabled: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[QueryRole, str]] = ..., expression: _Optional[str] = ..., enabled: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class QuerySyntaxError(_message.Message):
    __slots__ = ("position", "expected", "message")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    position: int
    expected: str
    message: str
    def __init__(self, position: _Optional[int] = ..., expected: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CreateQueryRequest(_message.Message):
    __slots__ = ("tenant_id", "name", "role", "expression", "enabled")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    name: str
    role: QueryRole
    expression: str
    enabled: bool
    def __init__(self, tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[QueryRole, str]] = ..., expression: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class GetQueryRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListQueriesRequest(_message.Message):
    __slots__ = ("tenant_id", "role", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    role: QueryRole
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., role: _Optional[_Union[QueryRole, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListQueriesResponse(_message.Message):
    __slots__ = ("queries", "next_page_token")
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedCompositeFieldContainer[ListeningQuery]
    next_page_token: str
    def __init__(self, queries: _Optional[_Iterable[_Union[ListeningQuery, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateQueryRequest(_message.Message):
    __slots__ = ("tenant_id", "id", "name", "role", "expression", "enabled")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    name: str
    role: QueryRole
    expression: str
    enabled: bool
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[QueryRole, str]] = ..., expression: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class DeleteQueryRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteQueryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ValidateQueryRequest(_message.Message):
    __slots__ = ("expression",)
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    expression: str
    def __init__(self, expression: _Optional[str] = ...) -> None: ...

class ValidateQueryResponse(_message.Message):
    __slots__ = ("valid", "errors")
    VALID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    errors: _containers.RepeatedCompositeFieldContainer[QuerySyntaxError]
    def __init__(self, valid: _Optional[bool] = ..., errors: _Optional[_Iterable[_Union[QuerySyntaxError, _Mapping]]] = ...) -> None: ...

class Source(_message.Message):
    __slots__ = ("id", "tenant_id", "name", "kind", "config", "credential_fields", "interval_seconds", "paused", "status", "created_at", "updated_at", "last_run_at", "next_run_at", "items_collected", "runs", "last_error", "last_error_at", "consecutive_failures", "last_success_at", "last_run_items")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELDS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_COLLECTED_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_AT_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_ITEMS_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    name: str
    kind: str
    config: _struct_pb2.Struct
    credential_fields: _containers.RepeatedScalarFieldContainer[str]
    interval_seconds: int
    paused: bool
    status: SourceStatus
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    last_run_at: _timestamp_pb2.Timestamp
    next_run_at: _timestamp_pb2.Timestamp
    items_collected: int
    runs: int
    last_error: str
    last_error_at: _timestamp_pb2.Timestamp
    consecutive_failures: int
    last_success_at: _timestamp_pb2.Timestamp
    last_run_items: int
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., credential_fields: _Optional[_Iterable[str]] = ..., interval_seconds: _Optional[int] = ..., paused: _Optional[bool] = ..., status: _Optional[_Union[SourceStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., items_collected: _Optional[int] = ..., runs: _Optional[int] = ..., last_error: _Optional[str] = ..., last_error_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consecutive_failures: _Optional[int] = ..., last_success_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_items: _Optional[int] = ...) -> None: ...

class CreateSourceRequest(_message.Message):
    __slots__ = ("tenant_id", "name", "kind", "config", "credentials", "interval_seconds", "paused")
    class CredentialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    name: str
    kind: str
    config: _struct_pb2.Struct
    credentials: _containers.ScalarMap[str, str]
    interval_seconds: int
    paused: bool
    def __init__(self, tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., credentials: _Optional[_Mapping[str, str]] = ..., interval_seconds: _Optional[int] = ..., paused: _Optional[bool] = ...) -> None: ...

class CreateSourceResponse(_message.Message):
    __slots__ = ("source", "webhook_secret")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_FIELD_NUMBER: _ClassVar[int]
    source: Source
    webhook_secret: str
    def __init__(self, source: _Optional[_Union[Source, _Mapping]] = ..., webhook_secret: _Optional[str] = ...) -> None: ...

class GetSourceRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListSourcesRequest(_message.Message):
    __slots__ = ("tenant_id", "kind", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    kind: str
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., kind: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSourcesResponse(_message.Message):
    __slots__ = ("sources", "next_page_token")
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedCompositeFieldContainer[Source]
    next_page_token: str
    def __init__(self, sources: _Optional[_Iterable[_Union[Source, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateSourceRequest(_message.Message):
    __slots__ = ("tenant_id", "id", "name", "config", "credentials", "replace_credentials", "interval_seconds")
    class CredentialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    name: str
    config: _struct_pb2.Struct
    credentials: _containers.ScalarMap[str, str]
    replace_credentials: bool
    interval_seconds: int
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ..., name: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., credentials: _Optional[_Mapping[str, str]] = ..., replace_credentials: _Optional[bool] = ..., interval_seconds: _Optional[int] = ...) -> None: ...

class DeleteSourceRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteSourceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PushWebhookRequest(_message.Message):
    __slots__ = ("source_id", "timestamp", "signature", "body", "content_type")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    timestamp: str
    signature: str
    body: bytes
    content_type: str
    def __init__(self, source_id: _Optional[str] = ..., timestamp: _Optional[str] = ..., signature: _Optional[str] = ..., body: _Optional[bytes] = ..., content_type: _Optional[str] = ...) -> None: ...

class PushWebhookResponse(_message.Message):
    __slots__ = ("tenant_id", "accepted", "rejected", "errors", "post_ids")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    POST_IDS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    accepted: int
    rejected: int
    errors: _containers.RepeatedCompositeFieldContainer[IngestError]
    post_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[IngestError, _Mapping]]] = ..., post_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportSpec(_message.Message):
    __slots__ = ("tenant_id", "filename", "format", "mapping", "timestamp_format", "timezone", "default_platform", "delimiter")
    class MappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    DELIMITER_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    filename: str
    format: str
    mapping: _containers.ScalarMap[str, str]
    timestamp_format: str
    timezone: str
    default_platform: str
    delimiter: str
    def __init__(self, tenant_id: _Optional[str] = ..., filename: _Optional[str] = ..., format: _Optional[str] = ..., mapping: _Optional[_Mapping[str, str]] = ..., timestamp_format: _Optional[str] = ..., timezone: _Optional[str] = ..., default_platform: _Optional[str] = ..., delimiter: _Optional[str] = ...) -> None: ...

class StartImportRequest(_message.Message):
    __slots__ = ("spec", "chunk")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    spec: ImportSpec
    chunk: bytes
    def __init__(self, spec: _Optional[_Union[ImportSpec, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class GetImportRequest(_message.Message):
    __slots__ = ("tenant_id", "id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    id: str
    def __init__(self, tenant_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListImportsRequest(_message.Message):
    __slots__ = ("tenant_id", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListImportsResponse(_message.Message):
    __slots__ = ("imports", "next_page_token")
    IMPORTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    imports: _containers.RepeatedCompositeFieldContainer[ImportJob]
    next_page_token: str
    def __init__(self, imports: _Optional[_Iterable[_Union[ImportJob, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ImportRowError(_message.Message):
    __slots__ = ("line", "field", "message")
    LINE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    line: int
    field: str
    message: str
    def __init__(self, line: _Optional[int] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ImportJob(_message.Message):
    __slots__ = ("id", "tenant_id", "filename", "format", "state", "bytes_total", "bytes_processed", "rows_read", "accepted", "rejected", "errors", "errors_total", "created_at", "started_at", "finished_at", "message", "sha256")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    ROWS_READ_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    filename: str
    format: str
    state: ImportState
    bytes_total: int
    bytes_processed: int
    rows_read: int
    accepted: int
    rejected: int
    errors: _containers.RepeatedCompositeFieldContainer[ImportRowError]
    errors_total: int
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    message: str
    sha256: str
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., filename: _Optional[str] = ..., format: _Optional[str] = ..., state: _Optional[_Union[ImportState, str]] = ..., bytes_total: _Optional[int] = ..., bytes_processed: _Optional[int] = ..., rows_read: _Optional[int] = ..., accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[ImportRowError, _Mapping]]] = ..., errors_total: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...
