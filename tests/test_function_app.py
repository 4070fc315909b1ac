"""The registered functions themselves, called with ``func.HttpRequest`` as the Functions host calls them,
against a fresh table in the real Azurite."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import azure.functions as func
import pytest
from urllib3 import encode_multipart_formdata

import function_app
from usermapper.web.compression import compress
from usermapper.web.settings import Settings, StorageTarget
from usermapper.web.store import SessionStore

CLASSROOM = (Path(__file__).resolve().parent.parent / "examples" / "classroom.yaml").read_bytes()
URL = "http://localhost:7071/api/usermapping"
REMOTE = "https://usermapper.azurewebsites.net/api/usermapping"


@pytest.fixture
def app_env(azurite, tables, table_name, monkeypatch):
    """function_app reads its settings from the environment on first use; give it tables of its own."""
    monkeypatch.setenv("USERMAPPER_STORAGE", azurite.connection_string)
    monkeypatch.setenv("USERMAPPER_TABLE", table_name)
    function_app.api.cache_clear()
    yield tables
    function_app.api.cache_clear()


def call(function, method: str, url: str = URL, body: bytes = b"", **headers: str) -> func.HttpResponse:
    request = func.HttpRequest(method, url, headers=headers, body=body)
    return function.build().get_user_function()(request)


def upload(config: bytes = CLASSROOM) -> func.HttpResponse:
    body, content_type = encode_multipart_formdata({"config": ("lab.yaml", config, "application/yaml")})
    return call(function_app.usermapping, "POST", body=body, **{"Content-Type": content_type})


def cookie_of(response: func.HttpResponse) -> str:
    return response.headers.get_all("Set-Cookie")[0].split(";")[0]


def test_upload_download_end(app_env):
    created = upload()
    assert created.status_code == 201
    assert created.headers["Content-Type"].startswith("application/json")
    cookie = cookie_of(created)

    downloaded = call(function_app.usermapping, "GET", Cookie=cookie)
    assert downloaded.status_code == 200
    assert downloaded.get_body().count(b"<connection ") == 65

    ended = call(function_app.usermapping, "DELETE", Cookie=cookie)
    assert ended.status_code == 204
    assert call(function_app.usermapping, "GET", Cookie=cookie).status_code == 404
    tombstone, = app_env.entities().values()  # kept until expiry, so a Generate racing this cannot win
    assert tombstone["State"] == "ended"
    assert not [key for key in tombstone if key.startswith(("Xml", "Credentials", "Summary"))]


def test_cookie_is_host_prefixed_and_secure_unless_local_plain_http(app_env):
    body, content_type = encode_multipart_formdata({"config": ("lab.yaml", CLASSROOM)})
    remote = call(function_app.usermapping, "POST", REMOTE, body, **{"Content-Type": content_type})
    cookie = remote.headers.get_all("Set-Cookie")[0].split("; ")
    assert cookie[0].startswith("__Host-usermapper_session=")
    assert {"Secure", "Path=/", "HttpOnly", "SameSite=Lax"} <= set(cookie)
    local = upload().headers.get_all("Set-Cookie")[0].split("; ")
    assert local[0].startswith("usermapper_session=") and "Path=/api" in local and "Secure" not in local


def test_over_https_only_the_host_prefixed_cookie_names_the_session(app_env):
    """A sibling subdomain can plant ``usermapper_session`` but never ``__Host-usermapper_session``."""
    body, content_type = encode_multipart_formdata({"config": ("lab.yaml", CLASSROOM)})
    remote = call(function_app.usermapping, "POST", REMOTE, body, **{"Content-Type": content_type})
    token = cookie_of(remote).split("=", 1)[1]
    planted = cookie_of(upload()).split("=", 1)[1]
    chosen = call(function_app.usermapping, "GET", REMOTE, Accept="application/json",
                  Cookie=f"usermapper_session={planted}; __Host-usermapper_session={token}")
    assert chosen.status_code == 200
    assert chosen.get_body() == call(function_app.usermapping, "GET", REMOTE, Accept="application/json",
                                     Cookie=f"__Host-usermapper_session={token}").get_body()


def test_two_different_session_cookies_are_refused_not_guessed_between(app_env):
    first, second = cookie_of(upload()), cookie_of(upload())
    two = call(function_app.usermapping, "GET", Cookie=f"{first}; {second}")
    assert two.status_code == 400
    assert "cookies" in two.get_body().decode()
    assert call(function_app.usermapping, "DELETE", Cookie=f"{first}; {second}").status_code == 204
    assert call(function_app.usermapping, "GET", Cookie=first).status_code == 404
    assert call(function_app.usermapping, "GET", Cookie=second).status_code == 404


def test_multipart_parts_over_500_kib_never_touch_the_disk(app_env, monkeypatch, tmp_path):
    """werkzeug's default spools a part over 500 KiB to a temporary file; with no usable temporary
    directory, such an upload fails unless it is parsed in memory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    big = CLASSROOM + b"# padding\n" * 60_000
    assert 500 * 1024 < len(big) < 1024 * 1024
    created = upload(big)
    assert created.status_code == 201, created.get_body()
    assert not (tmp_path / "missing").exists()


def test_cookie_pairs_are_separated_by_semicolons_only(app_env):
    """A ',' may sit inside a cookie's value (browsers keep and send foo=a,<name>=<token> as one cookie, set by
    any sibling subdomain), so it never separates pairs: RFC 6265 5.4 and HTTP/2 (RFC 9113 8.2.3) use "; "."""
    cookie = cookie_of(upload())
    assert call(function_app.usermapping, "GET", Cookie=f"theme=dark; {cookie}; other=1").status_code == 200
    assert call(function_app.usermapping, "GET", Cookie=f"theme=dark, {cookie}, other=1").status_code == 404


def test_invalid_config_is_a_problem_not_an_exception(app_env):
    response = call(function_app.usermapping, "POST", body=b"users: [", **{"Content-Type": "application/yaml"})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_credentials_function(app_env):
    cookie = cookie_of(upload())
    sheet = call(function_app.usermapping_credentials, "GET", URL + "/credentials", Cookie=cookie)
    assert sheet.status_code == 200
    assert sheet.get_body().decode().splitlines()[1] == "trainers,trainer1,Lab-Trainer-2026"


def test_health_function(app_env):
    assert call(function_app.health, "GET", "http://localhost:7071/api/health").status_code == 200


def test_timer_function_sweeps_the_tables_of_past_hours(app_env, azurite, table_name):
    three_hours_ago = datetime.now(timezone.utc) - timedelta(hours=3)
    settings = Settings(storage=StorageTarget(connection_string=azurite.connection_string), table_name=table_name)
    expired = SessionStore.from_settings(settings, clock=lambda: three_hours_ago)
    expired.save(compress(CLASSROOM), compress(b""), 1, 1, summary=compress(b"{}"))
    live = cookie_of(upload())
    assert len(app_env.hours()) == 2

    function_app.sweep_expired_sessions.build().get_user_function()(None)

    # the live session's hour, and those the sweep made for the coming hour's saves
    assert app_env.hours() == {(three_hours_ago + timedelta(hours=hours)).strftime("%Y%m%d%H") for hours in (4, 5)}
    assert call(function_app.usermapping, "GET", Cookie=live).status_code == 200


def test_routes_do_not_overlap():
    """The host tries routes in alphabetical order of function name; literal, disjoint routes keep that moot."""
    routes = {f.get_function_name(): f.get_trigger().route
              for f in (b.build() for b in (function_app.usermapping, function_app.usermapping_check,
                                            function_app.usermapping_credentials,
                                            function_app.usermapping_sign_in_documents, function_app.health,
                                            function_app.page, function_app.static_asset))}
    assert routes == {"usermapping": "api/usermapping", "usermapping_check": "api/usermapping/check",
                      "usermapping_credentials": "api/usermapping/credentials",
                      "usermapping_sign_in_documents": "api/usermapping/sign-in-documents",
                      "health": "api/health", "page": "{root:maxlength(0)?}", "static_asset": "static/{name}"}


BAD_SETTINGS = {"USERMAPPER_MAX_USERS": "-1", "USERMAPPER_SESSION_SECONDS": "soon", "USERMAPPER_MAX_DEVICES": "inf",
                "USERMAPPER_ALLOWED_ORIGINS": "https://lab.example/path", "USERMAPPER_STORAGE": "not a string",
                "USERMAPPER_TABLE": "1bad"}


@pytest.mark.parametrize("name, value", BAD_SETTINGS.items(), ids=list(BAD_SETTINGS))
def test_an_unusable_setting_is_a_503_naming_it_on_every_route_and_one_log_line(app_env, monkeypatch, caplog,
                                                                                name, value):
    monkeypatch.setenv(name, value)
    function_app.api.cache_clear()
    routes = [(function_app.usermapping, "POST", URL), (function_app.usermapping, "GET", URL),
              (function_app.usermapping, "DELETE", URL), (function_app.usermapping_check, "POST", URL + "/check"),
              (function_app.usermapping_credentials, "GET", URL + "/credentials"),
              (function_app.health, "GET", "http://localhost:7071/api/health"),
              (function_app.page, "GET", "http://localhost:7071/"),
              (function_app.static_asset, "GET", "http://localhost:7071/static/app.js")]
    for function, method, url in routes:
        response = call(function, method, url)
        assert response.status_code == 503
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert name in response.get_body().decode()
    assert len([r for r in caplog.records if r.levelname == "ERROR" and "cannot serve" in r.getMessage()]) == 1
    assert function_app.sweep_expired_sessions.build().get_user_function()(None) is None  # no AttributeError
    swept = [r.getMessage() for r in caplog.records if "sweep cannot run" in r.getMessage()]
    assert len(swept) == 1 and name in swept[0]


def test_in_azure_without_a_storage_setting_every_route_is_a_503_naming_it(monkeypatch, caplog):
    for name in ("USERMAPPER_STORAGE", "AzureWebJobsStorage"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEBSITE_SITE_NAME", "func-usermapper")
    function_app.api.cache_clear()
    try:
        for function, url in [(function_app.health, "http://localhost:7071/api/health"),
                              (function_app.page, "http://localhost:7071/")]:
            response = call(function, "GET", url)
            assert response.status_code == 503
            assert "AzureWebJobsStorage" in response.get_body().decode()
    finally:
        function_app.api.cache_clear()
    assert len([r for r in caplog.records if r.levelname == "ERROR" and "cannot serve" in r.getMessage()]) == 1
