"""Public pages and the API are cacheable by a CDN, and never carry one visitor's token or data."""

from __future__ import annotations

import time

import pytest
import redis
from flask.testing import FlaskClient

from app import create_app
from app.support.http_cache import ConsoleChanges, shared_response_cache
from config import TestingConfig
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, sign_form_token

SHARED_PAGES = [
    "/",
    "/privacy",
    "/letters/{slug}",
    "/letters/{slug}/signatories",
    "/letters/{slug}/signatories?q=ada",
    "/letters/{slug}/history",
    "/api/letters/{slug}",
    "/api/letters/{slug}/signatories",
    "/api/letters/{slug}/signatories?limit=5",
]


@pytest.mark.parametrize("path", SHARED_PAGES)
def test_shared_pages_say_how_long_a_proxy_may_keep_them_and_revalidate_by_etag(
    client: FlaskClient, session, path: str
) -> None:
    letter = make_letter(session)
    make_signature(session, letter=letter, name="Ada Lovelace")
    url = path.format(slug=letter.slug)

    response = client.get(url)
    assert response.status_code == 200
    cache_control = response.cache_control
    assert cache_control.public
    assert cache_control.max_age == 0
    assert cache_control.s_maxage == 10
    assert cache_control.stale_while_revalidate == 60
    assert cache_control.stale_if_error == 600
    etag, weak = response.get_etag()
    assert etag and not weak
    # Nothing personal: no cookie set, and the page does not depend on one.
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")

    again = client.get(url, headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_the_letter_page_is_the_same_for_every_visitor_and_carries_no_token(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="same-for-all")
    stranger = client.get("/letters/same-for-all")
    assert 'name="csrf_token" value=""' in stranger.get_data(as_text=True)

    # A visitor with a session (and a token of their own) gets byte for byte the same page.
    visitor = client.application.test_client()
    own_token = sign_form_token(visitor)
    theirs = visitor.get("/letters/same-for-all")
    assert theirs.get_data() == stranger.get_data()
    assert own_token not in theirs.get_data(as_text=True)
    assert "Set-Cookie" not in theirs.headers
    assert letter.slug in theirs.get_data(as_text=True)


def test_the_token_endpoint_is_private(client: FlaskClient) -> None:
    response = client.get("/csrf-token")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["csrf_token"]
    assert "session=" in response.headers["Set-Cookie"]


def test_a_worker_renders_a_shared_page_once_per_interval(session) -> None:
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    letter = make_letter(session, slug="busy")
    make_signature(session, letter=letter)
    client = cached.test_client()
    first = client.get("/letters/busy")
    assert 'data-testid="verified-count">1<' in first.get_data(as_text=True)

    make_signature(session, letter=letter)
    # Still the page rendered a moment ago (what a CDN would show too)...
    assert client.get("/letters/busy").get_data() == first.get_data()
    # ...but pages with a query string are rendered afresh,
    listed = client.get("/letters/busy/signatories?country=GB").get_data(as_text=True)
    assert "2 confirmed signatures" in listed
    # and once the interval is over, so is the kept page.
    cache = shared_response_cache(cached)
    assert cache is not None
    clock = [time.monotonic() + 3600]  # an hour on: what was kept before has expired
    cache.clock = lambda: clock[0]
    kept = client.get("/letters/busy")  # kept anew at the fake clock's time
    assert 'data-testid="verified-count">2<' in kept.get_data(as_text=True)
    clock[0] += 59.9
    assert client.get("/letters/busy").get_data() == kept.get_data()
    make_signature(session, letter=letter)
    clock[0] += 0.2  # 60.1 s after it was kept: the interval is over
    assert 'data-testid="verified-count">3<' in client.get("/letters/busy").get_data(as_text=True)


def test_a_shared_link_with_tracking_parameters_is_the_page_kept_for_the_bare_address(
    session,
) -> None:
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    letter = make_letter(session, slug="shared")
    make_signature(session, letter=letter)
    client = cached.test_client()
    bare = client.get("/letters/shared")
    make_signature(session, letter=letter)  # kept pages still say 1
    for link in (
        "/letters/shared?utm_source=mastodon&utm_medium=social",
        "/letters/shared?fbclid=IwAR0abc",
        "/letters/shared?gclid=x&utm_campaign=",
    ):
        assert client.get(link).get_data() == bare.get_data(), link
    # Anything else in the query string is a different request, rendered by the app,
    for link in ("/letters/shared?utm_source=x&lang=fr", "/letters/shared?utm_source=x&q=1"):
        assert 'data-testid="verified-count">2<' in client.get(link).get_data(as_text=True)
    # and tracking parameters on a page that is not shared (a link page) change nothing.
    assert client.get("/csrf-token?utm_source=x").headers["Cache-Control"] == "no-store"


def test_replayed_pages_keep_their_headers_and_answer_revalidation(session) -> None:
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    make_letter(session, slug="replayed")
    client = cached.test_client()
    first = client.get("/letters/replayed")
    replayed = client.get("/letters/replayed")
    assert replayed.get_data() == first.get_data()
    assert "Age" in replayed.headers
    for header in ("Content-Security-Policy", "ETag", "Cache-Control", "X-Frame-Options"):
        assert replayed.headers[header] == first.headers[header]
    revalidated = client.get("/letters/replayed", headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.get_data() == b""


def test_only_public_successes_are_replayed(session) -> None:
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    client = cached.test_client()
    assert client.get("/letters/not-yet").status_code == 404
    make_letter(session, slug="not-yet")
    assert client.get("/letters/not-yet").status_code == 200
    # A visitor's own token is never kept for the next one.
    assert client.get("/csrf-token").json != cached.test_client().get("/csrf-token").json


def test_responses_that_are_not_kept_stream_through_untouched(session) -> None:
    """A private or streamed response (an export, say) is neither buffered nor left unclosed."""
    from flask import Response, stream_with_context

    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    produced: list[str] = []
    closed: list[bool] = []

    def chunks():
        for part in ("one,", "two,", "three"):
            produced.append(part)
            yield part

    def probe() -> Response:
        response = Response(stream_with_context(chunks()), mimetype="text/csv")
        response.call_on_close(lambda: closed.append(True))
        return response

    cached.add_url_rule("/stream-probe", "stream_probe", probe)
    with cached.test_client() as client:
        response = client.get("/stream-probe", buffered=False)
        stream = response.response
        assert next(iter(stream)) == b"one,"
        assert produced == ["one,"]  # not read ahead into memory
        response.close()
    assert closed == [True]


def test_a_revalidation_of_a_page_not_yet_kept_is_answered_304(session) -> None:
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    make_letter(session, slug="revalidated")
    first = cached.test_client().get("/letters/revalidated")
    fresh_app = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    again = fresh_app.test_client().get(
        "/letters/revalidated", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("first_host", ["signing.test", "evil.example"])
def test_a_foreign_host_gets_400_whether_the_page_is_kept_or_not(session, first_host) -> None:
    """The replay applies the host rule as the app does: no answer depends on a warm cache."""
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60, TRUSTED_HOSTS=["signing.test"])
    make_letter(session, slug="hosted")
    client = cached.test_client()
    client.get("/letters/hosted", base_url=f"http://{first_host}")
    for _ in range(2):
        assert client.get("/letters/hosted", base_url="http://signing.test").status_code == 200
        foreign = client.get("/letters/hosted", base_url="http://evil.example")
        assert foreign.status_code == 400
        assert foreign.get_data() == b"Unknown host.\n"


def test_a_page_kept_for_one_scheme_is_not_replayed_for_another(session) -> None:
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    make_letter(session, slug="schemes")
    client = cached.test_client()
    plain = client.get("/letters/schemes", base_url="http://signing.test")
    secure = client.get("/letters/schemes", base_url="https://signing.test")
    cache = shared_response_cache(cached)
    assert cache is not None
    assert len(cache._responses) == 2
    assert plain.status_code == secure.status_code == 200


def test_an_organisers_change_is_on_the_public_page_at_the_next_request(session) -> None:
    """The replay keeps signers' counts a few seconds; it never hides what an organiser just
    changed in the console, in this worker or another (the count of changes is shared)."""
    from app.models import OrganiserRole
    from tests.helpers import csrf_token, log_in

    shared = "redis://127.0.0.1:6379/12"  # what the workers of a deployment share
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60, REDIS_URL=shared)
    other_worker = create_app(TestingConfig, PAGE_CACHE_SECONDS=60, REDIS_URL=shared)
    letter = make_letter(session, slug="edited", title="Old title")
    organiser = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    session.commit()
    reader, elsewhere = cached.test_client(), other_worker.test_client()
    assert "Old title" in reader.get("/letters/edited").get_data(as_text=True)
    assert "Old title" in elsewhere.get("/letters/edited").get_data(as_text=True)

    # Both workers listen for changes (their listeners start with their first request).
    other = shared_response_cache(other_worker).changes
    listeners = redis.Redis.from_url(shared)
    _wait_for(
        lambda: (
            dict(listeners.pubsub_numsub(ConsoleChanges.CHANNEL))[ConsoleChanges.CHANNEL.encode()]
            >= 2
        ),
        "both workers to listen",
    )
    heard_before = other.current()

    console = cached.test_client()
    log_in(console, organiser.email)
    edit = console.post(
        "/admin/letters/edited/edit",
        data={
            "csrf_token": csrf_token(console, "/admin/letters/edited/edit"),
            "title": "New title",
            "body": letter.body,
            "status": "open",
        },
    )
    assert edit.status_code == 303
    assert "New title" in reader.get("/letters/edited").get_data(as_text=True)
    _wait_for(lambda: other.current() > heard_before, "the other worker to hear of the change")
    assert "New title" in elsewhere.get("/letters/edited").get_data(as_text=True)


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"waited 10 s for {what}"
        time.sleep(0.005)


def test_sign_ins_and_anonymous_posts_do_not_switch_the_replay_off(session) -> None:
    """Only a signed-in organiser's change to a letter counts; otherwise anyone could keep
    every worker rendering every page."""
    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    make_letter(session, slug="steady")
    client = cached.test_client()
    client.get("/letters/steady")
    changes = shared_response_cache(cached).changes
    before = changes.current()
    token = csrf_token(client, "/admin/login")
    failed = client.post(
        "/admin/login", data={"csrf_token": token, "email": "x@y.example", "password": "nope"}
    )
    assert failed.status_code == 200
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    act = client.post("/admin/letters/steady/signatures/act", data={"csrf_token": token})
    assert act.status_code == 302  # to sign in
    assert changes.current() == before


class _QuietSubscriber:
    """A subscription that delivers the given messages, then nothing, not even a pong."""

    def __init__(self, messages: list[dict]) -> None:
        self.messages = messages
        self.pings = 0
        self.silences = 0

    def get_message(self, timeout: float) -> dict | None:
        if self.messages:
            return self.messages.pop(0)
        self.silences += 1
        assert self.silences <= 3, "kept listening to a connection gone quiet"
        return None

    def ping(self) -> None:
        self.pings += 1


def test_the_change_listener_counts_messages_and_gives_up_a_connection_gone_quiet() -> None:
    changes = ConsoleChanges(None)
    subscriber = _QuietSubscriber(
        [
            {"type": "subscribe", "data": 1},
            {"type": "message", "data": b"changed"},
            {"type": "pong", "data": b""},
        ]
    )
    with pytest.raises(redis.ConnectionError):
        changes._hear_on(subscriber)  # type: ignore[arg-type]
    # The subscription and the change counted, the pong not; one ping, unanswered: given up.
    assert (changes.current(), subscriber.pings) == (2, 1)
