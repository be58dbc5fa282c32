"""Values from the request never reach a page's links, a cached page or a file: every address
comes from BASE_URL, and a request for another host or port is refused before anything is
rendered or kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from config import TestingConfig
from tests.factories import make_letter

BASE = "https://letters.example"
#: Every public page that names the site's address, and the files that do.
ADDRESSED = (
    "/letters/addressed",
    "/letters/addressed/embed",
    "/letters/addressed/poster",
    "/letters/addressed/updates.atom",
    "/letters/addressed/notables.atom",
    "/letters/addressed/signatories",
)
#: What a request can put into the WSGI environ, each set to an address of another site.
HOSTILE_ENVIRON = {
    "SCRIPT_NAME": "//evil.example",
    "HTTP_X_FORWARDED_HOST": "evil.example",
    "HTTP_X_FORWARDED_PROTO": "http",
    "HTTP_X_FORWARDED_PORT": "8443",
    "HTTP_X_FORWARDED_PREFIX": "//evil.example",
    "HTTP_X_FORWARDED_SERVER": "evil.example",
    "HTTP_X_FORWARDED_FOR": "203.0.113.9",
    "HTTP_FORWARDED": "host=evil.example;proto=http",
    "HTTP_X_ORIGINAL_URL": "//evil.example/letters/addressed",
    "HTTP_X_REWRITE_URL": "//evil.example/letters/addressed",
    "HTTP_X_SCRIPT_NAME": "//evil.example",
    "HTTP_X_HOST": "evil.example",
    "HTTP_REFERER": "https://evil.example/",
    "HTTP_ORIGIN": "https://evil.example",
    "HTTP_USER_AGENT": "evil.example",
    "HTTP_ACCEPT_LANGUAGE": "evil.example",
    "HTTP_COOKIE": "session=evil.example",
    "HTTP_X_HTTP_METHOD_OVERRIDE": "POST",
    "wsgi.url_scheme": "http",
    "SERVER_NAME": "evil.example",
    "SERVER_PORT": "8443",
}


def _site(**config: object) -> Flask:
    return create_app(
        TestingConfig,
        BASE_URL=BASE,
        TRUSTED_HOSTS=["letters.example"],
        PAGE_CACHE_SECONDS=60,
        **config,
    )


@pytest.mark.parametrize("name", list(HOSTILE_ENVIRON))
def test_nothing_a_request_sets_reaches_a_kept_page_or_its_links(session, name: str) -> None:
    make_letter(session, slug="addressed")
    session.commit()
    clean = _site().test_client()
    expected = {path: clean.get(path, base_url=BASE).get_data() for path in ADDRESSED}
    attacked = _site().test_client()  # a cold cache: the hostile request renders first
    for path in ADDRESSED:
        first = attacked.get(path, base_url=BASE, environ_overrides={name: HOSTILE_ENVIRON[name]})
        assert b"evil.example" not in first.get_data(), (name, path)
        later = attacked.get(path, base_url=BASE)
        assert later.get_data() == expected[path], (name, path)
        assert b"evil.example" not in later.get_data()


def test_the_links_name_base_url_whatever_the_request_came_as(session) -> None:
    make_letter(session, slug="addressed")
    session.commit()
    page = _site().test_client().get("/letters/addressed", base_url=BASE).get_data(as_text=True)
    assert f'content="{BASE}/letters/addressed"' in page  # og:url
    assert "http://localhost" not in page


@pytest.mark.parametrize(
    "host",
    [
        "letters.example:8443",
        "letters.example:abc",
        "127.0.0.1",
        "evil.example",
        "letters.example.evil.example",
    ],
)
def test_another_host_or_port_is_refused_before_anything_is_rendered_or_kept(
    session, host: str
) -> None:
    make_letter(session, slug="addressed")
    session.commit()
    client = _site().test_client()
    for path in ("/letters/addressed", "/letters/addressed/share.png"):
        for _ in range(2):  # warm or cold, the same answer
            refused = client.get(path, base_url=BASE, environ_overrides={"HTTP_HOST": host})
            assert refused.status_code == 400
            assert refused.get_data() == b"Unknown host.\n"
    for host in ("letters.example", "letters.example:443", "LETTERS.example"):
        answered = client.get("/letters/addressed", environ_overrides={"HTTP_HOST": host})
        assert answered.status_code == 200, host


def test_gunicorn_takes_no_address_from_headers() -> None:
    from gunicorn.config import Config

    conf = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    settings: dict[str, object] = {}
    exec(compile(conf.read_text(), str(conf), "exec"), settings)  # noqa: S102 (our own file)
    config = Config()
    config.set("forwarder_headers", settings["forwarder_headers"])
    assert config.forwarder_headers == []


def test_links_leave_out_the_default_port_as_browsers_do(session) -> None:
    # BASE_URL written with :443: links (and the Origin a browser sends) have no port.
    make_letter(session, slug="addressed")
    session.commit()
    site = create_app(TestingConfig, BASE_URL=f"{BASE}:443", TRUSTED_HOSTS=["letters.example"])
    page = site.test_client().get("/letters/addressed", base_url=BASE).get_data(as_text=True)
    assert f'content="{BASE}/letters/addressed"' in page
    assert ":443" not in page
