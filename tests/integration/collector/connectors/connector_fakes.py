"""Local stand-ins for each platform API, built from the recorded-style fixtures.

Each harness serves its platform's documented endpoints from the fixture server over a dataset that tests
can grow (``publish``) or spoil (``add_malformed``, ``reject_auth``), implementing the platform's own
paging rules (since_id/max_id and Link headers, next_token, after fullnames, offset cursors, page tokens,
numeric filters, conditional GET), so that cursor handling is tested against realistic behaviour.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import random
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar

from connector_server import FixtureServer, Reply, Seen, fixture_bytes, fixture_json

from dengar_collector.adapters.connectors import Connector, RateLimitPolicy, create_connector
from dengar_common.http_safety import EgressPolicy, SafeHttpClient, SafeHttpConfig

# 2026-11-20T12:00:00Z: the fixtures were "recorded" that morning.
T0 = 1_795_176_000.0
# Items published by the tests start here (after every fixture item, before T0).
PUBLISH_BASE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp()
FAST = RateLimitPolicy(max_retries=3, base_delay_s=0.05, max_delay_s=0.2, max_wait_s=60.0)


def local_config(**overrides: object) -> SafeHttpConfig:
    """The production defaults, except that exactly 127.0.0.1 is allowed and time-outs are short."""
    values: dict[str, object] = {
        "policy": EgressPolicy.from_cidrs(["127.0.0.1/32"]),
        "connect_timeout_s": 2.0, "read_timeout_s": 5.0, "total_timeout_s": 10.0,
    }
    values.update(overrides)
    return SafeHttpConfig(**values)  # type: ignore[arg-type]  # loose kwargs


class FakeClock:
    """Wall time that only moves when someone sleeps; every sleep is recorded."""

    def __init__(self, start: float = T0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def iso(ts: float, *, millis: bool = True) -> str:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z" if millis else "%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Harness:
    """One platform's fake API plus what the generic tests need to drive it."""

    platform: ClassVar[str]
    # Path of the main API call (where the tests queue 429s and 500s).
    main_path: ClassVar[str]
    # `limit` for the pagination test, and items to add to the fixture page so two pages exist.
    limit: ClassVar[int] = 2
    extra_initial: ClassVar[int] = 0
    # A credential value that must never show up in logs or errors (None: no credentials).
    secret: str | None = None

    def __init__(self, server: FixtureServer, clock: FakeClock, http: SafeHttpClient) -> None:
        self.server = server
        self.clock = clock
        self.http = http
        self.serial = 0
        self.install()

    def install(self) -> None:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def credentials(self) -> dict[str, Any] | None:
        return None

    def connector(self, **overrides: Any) -> Connector:
        return create_connector(self.platform, {**self.config(), **overrides}, self.credentials(),
                                http=self.http, clock=self.clock, rate_limit=FAST, rng=random.Random(7))

    def initial_ids(self) -> list[str]:
        raise NotImplementedError

    def publish(self, n: int) -> list[str]:
        """Add ``n`` items newer than everything; return the external ids the connector must produce."""
        raise NotImplementedError

    def add_malformed(self) -> str:
        """Add a newest item that cannot be mapped; return the id an item error should name (or "")."""
        raise NotImplementedError

    def reject_auth(self) -> str:
        """Make the credentials fail; return the path whose single request is the failing one."""
        raise NotImplementedError

    def next_time(self) -> float:
        self.serial += 1
        return PUBLISH_BASE + self.serial * 60


# ----------------------------------------------------------------------------------------------- X

class XHarness(Harness):
    platform = "x"
    main_path = "/2/tweets/search/recent"
    limit = 10
    extra_initial = 8
    secret = ("AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub"
              "0wnz4XsNiRVBChTYbJcE3F")

    def install(self) -> None:
        page = fixture_json("x/search_recent.json")
        self.template = page["data"]
        # (key, tweet): the key orders malformed items too.
        self.tweets: list[tuple[int, dict[str, Any]]] = [(int(t["id"]), t) for t in page["data"]]
        self.users = {u["id"]: u for u in page["includes"]["users"]}
        self.valid_token = self.secret
        self.server.route("GET", self.main_path, self.search)

    def config(self) -> dict[str, Any]:
        return {"base_url": self.server.base_url, "query": "(gojek OR grab) lang:id"}

    def credentials(self) -> dict[str, Any] | None:
        return {"bearer_token": self.secret}

    def initial_ids(self) -> list[str]:
        return [t["id"] for _, t in self.tweets]

    def publish(self, n: int) -> list[str]:
        ids = []
        for _ in range(n):
            when = self.next_time()
            tweet = copy.deepcopy(self.template[3])
            # A snowflake minted at that time, as X does.
            tweet["id"] = str(((int(when * 1000) - 1_288_834_974_657) << 22) + self.serial)
            tweet["created_at"] = iso(when)
            tweet["text"] = f"GrabFood order #{self.serial} arrived on time"
            tweet.pop("referenced_tweets", None)
            self.tweets.append((int(tweet["id"]), tweet))
            ids.append(tweet["id"])
        return ids

    def add_malformed(self) -> str:
        tweet = copy.deepcopy(self.template[0])
        tweet["id"] = str(max(k for k, _ in self.tweets) + 4_194_304)
        del tweet["created_at"]
        self.tweets.append((int(tweet["id"]), tweet))
        return tweet["id"]

    def reject_auth(self) -> str:
        self.valid_token = "a-different-token"
        return self.main_path

    def search(self, req: Seen) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.valid_token}":
            return Reply.json(fixture_json("x/unauthorized.json"), 401)
        size = int(req.query.get("max_results", "10"))
        if not 10 <= size <= 100:
            return Reply.json({"errors": [{"parameters": {"max_results": [str(size)]},
                                           "message": "The `max_results` query parameter value is not "
                                                      "between 10 and 100"}],
                               "title": "Invalid Request", "type": "https://api.twitter.com/2/problems/"
                               "invalid-request", "detail": "One or more parameters to your request "
                                                           "was invalid."}, 400)
        rows = sorted(self.tweets, key=lambda kv: kv[0], reverse=True)
        if "since_id" in req.query:
            rows = [r for r in rows if r[0] > int(req.query["since_id"])]
        if "start_time" in req.query:
            start = parse_iso(req.query["start_time"])
            rows = [r for r in rows if "created_at" not in r[1] or parse_iso(r[1]["created_at"]) >= start]
        if "next_token" in req.query:
            upper = int(base64.urlsafe_b64decode(req.query["next_token"]).decode())
            rows = [r for r in rows if r[0] < upper]
        page = [t for _, t in rows[:size]]
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449",
                   "x-rate-limit-reset": str(int(self.clock.time()) + 900)}
        if not page:
            return Reply.json({"meta": {"result_count": 0}}, headers=headers)
        meta: dict[str, Any] = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"],
                                "result_count": len(page)}
        if len(rows) > size:
            meta["next_token"] = base64.urlsafe_b64encode(page[-1]["id"].encode()).decode()
        authors = {t.get("author_id") for t in page}
        return Reply.json({"data": page, "includes": {"users": [u for i, u in self.users.items()
                                                                 if i in authors]},
                           "meta": meta}, headers=headers)


# ---------------------------------------------------------------------------------------- Mastodon

class MastodonHarness(Harness):
    platform = "mastodon"
    main_path = "/api/v1/timelines/tag/gojek"
    secret = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"

    def install(self) -> None:
        statuses = fixture_json("mastodon/tag_timeline.json")
        self.template = statuses[1]
        self.statuses: list[tuple[int, dict[str, Any]]] = [(int(s["id"]), s) for s in statuses]
        self.valid_token = self.secret
        self.server.route("GET", self.main_path, self.timeline)

    def config(self) -> dict[str, Any]:
        return {"base_url": self.server.base_url, "hashtag": "gojek"}

    def credentials(self) -> dict[str, Any] | None:
        return {"access_token": self.secret}

    def initial_ids(self) -> list[str]:
        return [s["uri"] for _, s in self.statuses]

    def publish(self, n: int) -> list[str]:
        uris = []
        for _ in range(n):
            when = self.next_time()
            status = copy.deepcopy(self.template)
            local = max(k for k, _ in self.statuses) + 65_536 * 1000
            status.update({"id": str(local), "created_at": iso(when),
                           "uri": f"https://fosstodon.org/users/lenab/statuses/{local + 7}",
                           "url": f"https://fosstodon.org/@lenab/{local + 7}",
                           "content": f"<p>#gojek update {self.serial}</p>"})
            self.statuses.append((local, status))
            uris.append(status["uri"])
        return uris

    def add_malformed(self) -> str:
        status = copy.deepcopy(self.template)
        local = max(k for k, _ in self.statuses) + 65_536
        status.update({"id": str(local), "uri": f"https://mastodon.social/users/x/statuses/{local}"})
        del status["account"]
        self.statuses.append((local, status))
        return status["uri"]

    def reject_auth(self) -> str:
        self.valid_token = "revoked"
        return self.main_path

    def timeline(self, req: Seen) -> Reply:
        auth = req.headers.get("authorization")
        if auth is not None and auth != f"Bearer {self.valid_token}":
            return Reply.json(fixture_json("mastodon/invalid_token.json"), 401)
        size = min(40, int(req.query.get("limit", "20")))
        rows = sorted(self.statuses, key=lambda kv: kv[0], reverse=True)
        for name, keep in (("since_id", lambda k, v: k > v), ("max_id", lambda k, v: k < v)):
            if name in req.query:
                bound = int(req.query[name])
                rows = [r for r in rows if keep(r[0], bound)]
        if "min_id" in req.query:
            # min_id pages forward: the statuses immediately newer than it, still newest first.
            bound = int(req.query["min_id"])
            rows = sorted([r for r in rows if r[0] > bound], key=lambda kv: kv[0])[:size][::-1]
        page = rows[:size]
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299",
                   "X-RateLimit-Reset": iso(self.clock.time() + 300)}
        if page:
            base = self.server.url(self.main_path)
            headers["Link"] = (f'<{base}?max_id={page[-1][0]}>; rel="next", '
                               f'<{base}?min_id={page[0][0]}>; rel="prev"')
        return Reply.json([s for _, s in page], headers=headers)


# ----------------------------------------------------------------------------------------- Bluesky

class BlueskyHarness(Harness):
    platform = "bluesky"
    main_path = "/xrpc/app.bsky.feed.searchPosts"
    secret = "k4qz-7bt2-x9fw-3mde"

    def install(self) -> None:
        self.posts = list(fixture_json("bluesky/search_posts.json")["posts"])
        self.template = self.posts[0]
        self.session = fixture_json("bluesky/create_session.json")
        self.password = self.secret
        self.access_tokens = {self.session["accessJwt"]}
        self.sessions_created = 0
        self.server.route("GET", self.main_path, self.search)
        self.server.route("POST", "/xrpc/com.atproto.server.createSession", self.create_session)

    def config(self) -> dict[str, Any]:
        return {"base_url": self.server.base_url, "pds_url": self.server.base_url, "query": "gojek"}

    def credentials(self) -> dict[str, Any] | None:
        return {"identifier": "dengar-monitor.bsky.social", "app_password": self.secret}

    def initial_ids(self) -> list[str]:
        return [p["uri"] for p in self.posts]

    @staticmethod
    def sort_at(post: dict[str, Any]) -> float:
        indexed = parse_iso(post["indexedAt"])
        created = post.get("record", {}).get("createdAt")
        return min(indexed, parse_iso(created)) if created else indexed

    def publish(self, n: int) -> list[str]:
        uris = []
        for _ in range(n):
            when = self.next_time()
            post = copy.deepcopy(self.template)
            post["uri"] = f"at://did:plc:w4xbfzo7kqfes5zb7r6qv3rw/app.bsky.feed.post/3lbkr{self.serial:06d}"
            post["record"]["createdAt"] = iso(when)
            post["record"]["text"] = f"gojek lancar lagi ({self.serial})"
            post["indexedAt"] = iso(when + 1)
            self.posts.append(post)
            uris.append(post["uri"])
        return uris

    def add_malformed(self) -> str:
        post = copy.deepcopy(self.template)
        post["uri"] = "at://did:plc:w4xbfzo7kqfes5zb7r6qv3rw/app.bsky.feed.post/3lbkzzzmalfd"
        post["indexedAt"] = iso(PUBLISH_BASE - 30)
        post["record"] = {"$type": "app.bsky.feed.post", "createdAt": iso(PUBLISH_BASE - 31)}
        self.posts.append(post)
        return post["uri"]

    def reject_auth(self) -> str:
        self.password = "another-app-password"
        return "/xrpc/com.atproto.server.createSession"

    def create_session(self, req: Seen) -> Reply:
        body = req.json()
        if body.get("password") != self.password:
            return Reply.json(fixture_json("bluesky/auth_required.json"), 401)
        self.sessions_created += 1
        return Reply.json(self.session)

    def search(self, req: Seen) -> Reply:
        auth = req.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.access_tokens:
            return Reply.json({"error": "AuthenticationRequired", "message": "Authentication Required"}, 401)
        rows = sorted(self.posts, key=self.sort_at, reverse=True)
        if "since" in req.query:
            since = parse_iso(req.query["since"])
            rows = [p for p in rows if self.sort_at(p) >= since]
        # The AppView's cursor is an offset into the result list: pages shift as posts arrive.
        offset = int(req.query.get("cursor") or 0)
        size = int(req.query.get("limit", "25"))
        page = rows[offset:offset + size]
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(rows)}
        if offset + size < len(rows):
            body["cursor"] = str(offset + size)
        return Reply.json(body, headers={"RateLimit-Limit": "3000", "RateLimit-Remaining": "2999",
                                         "RateLimit-Reset": str(int(self.clock.time()) + 300),
                                         "RateLimit-Policy": "3000;w=300"})


# ------------------------------------------------------------------------------------------ Reddit

def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out or "0"


class RedditHarness(Harness):
    platform = "reddit"
    main_path = "/r/indonesia/new"
    secret = "Zr8vQ2c1kF3xXw0pN-4bYtLm9Aq"

    def install(self) -> None:
        listing = fixture_json("reddit/new_posts.json")
        self.template = listing["data"]["children"][0]
        self.things: list[tuple[int, dict[str, Any]]] = [
            (int(c["data"]["id"], 36), c) for c in listing["data"]["children"]]
        self.comments = fixture_json("reddit/new_comments.json")
        self.client_secret = self.secret
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.server.route("POST", "/api/v1/access_token", self.token)
        self.server.route("GET", self.main_path, self.listing)
        self.server.route("GET", "/r/indonesia/comments", lambda req: self.guarded(req, Reply.json(
            self.comments, headers=self.rate_headers())))

    def config(self) -> dict[str, Any]:
        return {"base_url": self.server.base_url, "auth_url": self.server.base_url, "subreddit": "indonesia",
                "user_agent": "server:dengar-tests:v1 (by /u/dengar)"}

    def credentials(self) -> dict[str, Any] | None:
        return {"client_id": "p-jcoLKBynTLew", "client_secret": self.secret}

    def initial_ids(self) -> list[str]:
        return [c["data"]["name"] for _, c in self.things]

    def publish(self, n: int) -> list[str]:
        names = []
        for _ in range(n):
            when = self.next_time()
            thing = copy.deepcopy(self.template)
            number = max(k for k, _ in self.things) + 1000
            thing["data"].update({"id": base36(number), "name": f"t3_{base36(number)}", "created_utc": when,
                                  "title": f"Pengalaman pakai GoRide hari ini #{self.serial}"})
            self.things.append((number, thing))
            names.append(thing["data"]["name"])
        return names

    def add_malformed(self) -> str:
        thing = copy.deepcopy(self.template)
        number = max(k for k, _ in self.things) + 1
        thing["data"].update({"id": base36(number), "name": f"t3_{base36(number)}"})
        del thing["data"]["created_utc"]
        self.things.append((number, thing))
        return thing["data"]["name"]

    def reject_auth(self) -> str:
        self.client_secret = "rotated-secret"
        return "/api/v1/access_token"

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def rate_headers(self) -> dict[str, str]:
        return {"x-ratelimit-remaining": "598.0", "x-ratelimit-used": "2", "x-ratelimit-reset": "412"}

    def token(self, req: Seen) -> Reply:
        expected = base64.b64encode(f"p-jcoLKBynTLew:{self.client_secret}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {expected}" \
                or b"grant_type=client_credentials" not in req.body:
            return Reply.json(fixture_json("reddit/unauthorized.json"), 401)
        self.tokens_issued += 1
        body = fixture_json("reddit/access_token.json")
        body["access_token"] = f"{body['access_token']}-{self.tokens_issued}"
        self.valid_tokens.add(body["access_token"])
        return Reply.json(body)

    def guarded(self, req: Seen, reply: Reply) -> Reply:
        if req.headers.get("authorization", "").removeprefix("bearer ") not in self.valid_tokens:
            return Reply.json(fixture_json("reddit/unauthorized.json"), 401,
                              headers={"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'})
        return reply

    def listing(self, req: Seen) -> Reply:
        rows = sorted(self.things, key=lambda kv: kv[0], reverse=True)
        if "after" in req.query:
            anchor = int(req.query["after"].split("_", 1)[1], 36)
            rows = [r for r in rows if r[0] < anchor]
        size = int(req.query.get("limit", "25"))
        page = [t for _, t in rows[:size]]
        after = page[-1]["data"]["name"] if len(rows) > size and page else None
        body = {"kind": "Listing", "data": {"after": after, "dist": len(page), "modhash": None,
                                            "geo_filter": "", "children": page, "before": None}}
        return self.guarded(req, Reply.json(body, headers=self.rate_headers()))


# ----------------------------------------------------------------------------------------- YouTube

class YouTubeHarness(Harness):
    platform = "youtube"
    main_path = "/youtube/v3/search"
    secret = "AIzaSyD3ng4rT3stK3y-0123456789abcdefgh"

    def install(self) -> None:
        search = fixture_json("youtube/search_list.json")
        self.template = search["items"][1]
        self.items: list[dict[str, Any]] = list(search["items"])
        self.details = {v["id"]: v for v in fixture_json("youtube/videos_list.json")["items"]}
        self.threads: dict[str, list[dict[str, Any]]] = {}
        for thread in fixture_json("youtube/comment_threads.json")["items"]:
            self.threads.setdefault(thread["snippet"]["videoId"], []).append(thread)
        self.disabled_comments: set[str] = set()
        self.valid_key = self.secret
        self.server.route("GET", self.main_path, self.search)
        self.server.route("GET", "/youtube/v3/videos", self.videos)
        self.server.route("GET", "/youtube/v3/commentThreads", self.comment_threads)

    def config(self) -> dict[str, Any]:
        return {"base_url": self.server.url("/youtube/v3"), "query": "gofood grabfood",
                "comments_per_video": 20}

    def credentials(self) -> dict[str, Any] | None:
        return {"api_key": self.secret}

    def initial_ids(self) -> list[str]:
        ids = [i["id"]["videoId"] for i in self.items]
        return ids + [t["id"] for vid in ids for t in self.threads.get(vid, [])]

    @staticmethod
    def published(item: dict[str, Any]) -> float:
        return parse_iso(item["snippet"].get("publishedAt") or item["snippet"]["publishTime"])

    def publish(self, n: int) -> list[str]:
        ids = []
        for _ in range(n):
            when = self.next_time()
            item = copy.deepcopy(self.template)
            vid = f"NeWv1d{self.serial:05d}"
            item["id"]["videoId"] = vid
            item["snippet"]["publishedAt"] = item["snippet"]["publishTime"] = iso(when, millis=False)
            item["snippet"]["title"] = f"Gojek update part {self.serial}"
            detail = copy.deepcopy(self.details["Hq3mV9tZr2E"])
            detail["id"] = vid
            detail["snippet"]["title"] = item["snippet"]["title"]
            self.details[vid] = detail
            self.items.append(item)
            ids.append(vid)
        return ids

    def add_malformed(self) -> str:
        item = copy.deepcopy(self.template)
        # A video id is missing: what a channel result looks like when type=video is ignored.
        item["id"] = {"kind": "youtube#channel", "channelId": "UCmalformed0001"}
        item["snippet"]["publishedAt"] = item["snippet"]["publishTime"] = iso(PUBLISH_BASE - 20, millis=False)
        self.items.append(item)
        return ""

    def reject_auth(self) -> str:
        self.valid_key = "AIzaSy-some-other-key"
        return self.main_path

    def check_key(self, req: Seen) -> Reply | None:
        if req.headers.get("x-goog-api-key") != self.valid_key or "key" in req.query:
            return Reply.json(fixture_json("youtube/key_invalid.json"), 400)
        return None

    def search(self, req: Seen) -> Reply:
        if (bad := self.check_key(req)) is not None:
            return bad
        rows = sorted(self.items, key=self.published, reverse=True)
        if "publishedAfter" in req.query:
            after = parse_iso(req.query["publishedAfter"])
            rows = [i for i in rows if self.published(i) >= after]
        offset = int(base64.urlsafe_b64decode(req.query["pageToken"]).decode()) if "pageToken" in req.query \
            else 0
        size = int(req.query.get("maxResults", "5"))
        page = rows[offset:offset + size]
        body: dict[str, Any] = {"kind": "youtube#searchListResponse", "etag": "tst", "regionCode": "ID",
                                "pageInfo": {"totalResults": len(rows), "resultsPerPage": size},
                                "items": page}
        if offset + size < len(rows):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return Reply.json(body)

    def videos(self, req: Seen) -> Reply:
        if (bad := self.check_key(req)) is not None:
            return bad
        ids = req.query.get("id", "").split(",")
        return Reply.json({"kind": "youtube#videoListResponse", "etag": "tst",
                           "items": [self.details[i] for i in ids if i in self.details]})

    def comment_threads(self, req: Seen) -> Reply:
        if (bad := self.check_key(req)) is not None:
            return bad
        vid = req.query.get("videoId", "")
        if vid in self.disabled_comments:
            return Reply.json(fixture_json("youtube/comments_disabled.json"), 403)
        return Reply.json({"kind": "youtube#commentThreadListResponse", "etag": "tst",
                           "items": self.threads.get(vid, [])[:int(req.query.get("maxResults", "20"))]})


# ------------------------------------------------------------------------------------- Hacker News

class HackerNewsHarness(Harness):
    platform = "hackernews"
    main_path = "/api/v1/search_by_date"

    def install(self) -> None:
        found = fixture_json("hackernews/search_by_date.json")
        self.template = found["hits"][1]
        self.hits: list[tuple[int, dict[str, Any]]] = [(h["created_at_i"], h) for h in found["hits"]]
        self.forbidden = False
        self.server.route("GET", self.main_path, self.search)

    def config(self) -> dict[str, Any]:
        return {"base_url": self.server.base_url, "query": "gojek"}

    def initial_ids(self) -> list[str]:
        return [h["objectID"] for _, h in self.hits]

    def publish(self, n: int) -> list[str]:
        ids = []
        for _ in range(n):
            when = int(self.next_time())
            hit = copy.deepcopy(self.template)
            hit.update({"objectID": str(42190000 + self.serial), "created_at_i": when,
                        "created_at": iso(when, millis=False),
                        "title": f"Show HN: Gojek tracker {self.serial}"})
            self.hits.append((when, hit))
            ids.append(hit["objectID"])
        return ids

    def add_malformed(self) -> str:
        hit = copy.deepcopy(fixture_json("hackernews/search_by_date.json")["hits"][0])
        hit["created_at_i"] = int(PUBLISH_BASE) - 10
        hit["objectID"] = "42189999"
        hit["comment_text"] = ""
        self.hits.append((hit["created_at_i"], hit))
        return "42189999"

    def reject_auth(self) -> str:
        self.forbidden = True
        return self.main_path

    def search(self, req: Seen) -> Reply:
        if self.forbidden:
            return Reply.json(fixture_json("hackernews/forbidden.json"), 403)
        tags = req.query.get("tags", "").strip("()").split(",")
        rows = [(k, h) for k, h in self.hits if any(t in h["_tags"] for t in tags)]
        for flt in filter(None, req.query.get("numericFilters", "").split(",")):
            for op in (">=", "<=", ">", "<", "="):
                if op in flt:
                    name, value = flt.split(op, 1)
                    assert name == "created_at_i", flt
                    bound = int(value)
                    check = {">=": bound.__le__, "<=": bound.__ge__, ">": bound.__lt__,
                             "<": bound.__gt__, "=": bound.__eq__}[op]
                    rows = [r for r in rows if check(r[0])]
                    break
        rows.sort(key=lambda kv: kv[0], reverse=True)
        size = int(req.query.get("hitsPerPage", "20"))
        page = int(req.query.get("page", "0"))
        chunk = [h for _, h in rows[page * size:(page + 1) * size]]
        pages = (len(rows) + size - 1) // size
        return Reply.json({"hits": chunk, "nbHits": len(rows), "page": page, "nbPages": pages,
                           "hitsPerPage": size, "exhaustiveNbHits": True, "query": req.query.get("query", ""),
                           "params": "", "processingTimeMS": 1})


# --------------------------------------------------------------------------------------------- RSS

RSS_HEAD = fixture_bytes("rss/feed.xml").decode().split("<item>", 1)[0]


class RssHarness(Harness):
    platform = "rss"
    main_path = "/tekno/feed.xml"
    secret = "feed-reader-password-7731"

    def install(self) -> None:
        body = fixture_bytes("rss/feed.xml").decode()
        self.items: list[str] = ["<item>" + chunk.split("</item>", 1)[0] + "</item>"
                                 for chunk in body.split("<item>")[1:]]
        self.ids = ["kabar-tekno-88213", "https://kabar.example.id/tekno/2026/11/20/grab-biaya-layanan",
                    self.server.url("/tekno/2026/11/19/opini-ojol")]
        self.password = self.secret
        self.server.route("GET", self.main_path, self.feed)

    def config(self) -> dict[str, Any]:
        return {"feed_url": self.server.url(self.main_path)}

    def credentials(self) -> dict[str, Any] | None:
        return {"username": "dengar", "password": self.secret}

    def initial_ids(self) -> list[str]:
        return list(self.ids)

    def publish(self, n: int) -> list[str]:
        guids = []
        for _ in range(n):
            when = datetime.fromtimestamp(self.next_time(), tz=UTC)
            guid = f"kabar-tekno-9{self.serial:04d}"
            self.items.insert(0, f"<item><title>Update layanan ojol #{self.serial}</title>"
                                 f"<link>https://kabar.example.id/tekno/u/{self.serial}</link>"
                                 f"<guid isPermaLink=\"false\">{guid}</guid>"
                                 f"<pubDate>{format_datetime(when)}</pubDate>"
                                 f"<description>&lt;p&gt;Kabar terbaru {self.serial}&lt;/p&gt;</description>"
                                 "</item>")
            guids.append(guid)
        return guids

    def add_malformed(self) -> str:
        self.items.insert(0, "<item><title>Rusak</title><guid>kabar-tekno-broken</guid>"
                             "<pubDate>Kamis, 32 Foo 2026</pubDate><description>x</description></item>")
        return "kabar-tekno-broken"

    def reject_auth(self) -> str:
        self.password = "changed"
        return self.main_path

    def document(self) -> bytes:
        return (RSS_HEAD + "".join(self.items) + "</channel></rss>").encode("utf-8")

    def feed(self, req: Seen) -> Reply:
        expected = base64.b64encode(f"dengar:{self.password}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {expected}":
            return Reply(401, b"Authentication required", {"WWW-Authenticate": 'Basic realm="feeds"'})
        body = self.document()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        modified = format_datetime(datetime.fromtimestamp(PUBLISH_BASE + self.serial * 60, tz=UTC),
                                   usegmt=True)
        if req.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag, "Last-Modified": modified})
        return Reply(200, body, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag,
                                 "Last-Modified": modified})


HARNESSES: dict[str, type[Harness]] = {h.platform: h for h in (
    XHarness, MastodonHarness, BlueskyHarness, RedditHarness, YouTubeHarness, HackerNewsHarness, RssHarness)}
