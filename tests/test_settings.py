"""The storage settings, read as the Functions host reads a connection (docs/settings.md), and the
identity the app then uses: each form the host accepts, and the mistakes that must not reach Azure."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from usermapper.web.settings import DEVELOPMENT_STORAGE, SettingError, Settings, StorageTarget
from usermapper.web.store import SessionStore, StorageUnavailable

ACCOUNT = "stusermapper42"
TABLE = f"https://{ACCOUNT}.table.core.windows.net"
CLIENT_ID = "0b9c8f3e-6d1a-4c2b-9e7f-1a2b3c4d5e6f"
# What infra/app.bicep sets, as the azd template for Python functions does: no table URI at all.
TEMPLATE = {
    "AzureWebJobsStorage__credential": "managedidentity",
    "AzureWebJobsStorage__clientId": CLIENT_ID,
    "AzureWebJobsStorage__blobServiceUri": f"https://{ACCOUNT}.blob.core.windows.net",
    "AzureWebJobsStorage__queueServiceUri": f"https://{ACCOUNT}.queue.core.windows.net",
    "WEBSITE_SITE_NAME": "func-usermapper",
}


def target(**env: str) -> StorageTarget:
    return Settings.from_environment(env).storage


def test_nothing_set_is_azurite_on_this_machine():
    assert target() == StorageTarget(connection_string=DEVELOPMENT_STORAGE)
    assert target(USERMAPPER_STORAGE="", AzureWebJobsStorage="") == StorageTarget(connection_string=DEVELOPMENT_STORAGE)


def test_a_connection_string_is_used_as_it_is_and_ours_wins():
    ours = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=b;EndpointSuffix=core.windows.net"
    assert target(USERMAPPER_STORAGE=ours, AzureWebJobsStorage=DEVELOPMENT_STORAGE).connection_string == ours
    assert target(AzureWebJobsStorage=ours).connection_string == ours


def test_table_service_uri():
    assert target(AzureWebJobsStorage__tableServiceUri=TABLE + "/") == StorageTarget(table_endpoint=TABLE)


def test_account_name():
    assert target(AzureWebJobsStorage__accountName=ACCOUNT).table_endpoint == TABLE


@pytest.mark.parametrize("service", ["blob", "queue"])
def test_the_table_endpoint_is_derived_from_another_service_of_the_same_account(service):
    uri = f"https://{ACCOUNT}.{service}.core.chinacloudapi.cn/"
    assert target(AzureWebJobsStorage__blobServiceUri=uri if service == "blob" else "",
                  AzureWebJobsStorage__queueServiceUri=uri if service == "queue" else "").table_endpoint \
        == f"https://{ACCOUNT}.table.core.chinacloudapi.cn"


def test_the_template_s_settings_give_the_user_assigned_identity():
    assert target(**TEMPLATE) == StorageTarget(table_endpoint=TABLE, managed_identity=True, client_id=CLIENT_ID)


def test_our_identity_settings_win_over_the_host_s():
    env = {**TEMPLATE, "USERMAPPER_STORAGE__accountName": "other42"}
    assert target(**env) == StorageTarget(table_endpoint="https://other42.table.core.windows.net")


@pytest.mark.parametrize("env, named", [
    ({"WEBSITE_SITE_NAME": "func-usermapper"}, "AzureWebJobsStorage"),
    ({"WEBSITE_SITE_NAME": "func-usermapper", "AzureWebJobsStorage": DEVELOPMENT_STORAGE}, "AzureWebJobsStorage"),
    ({**TEMPLATE, "AzureWebJobsStorage__credential": "clientsecret"}, "AzureWebJobsStorage__credential"),
    ({"AzureWebJobsStorage__blobServiceUri": "http://stusermapper42.blob.core.windows.net"},
     "AzureWebJobsStorage__blobServiceUri"),
    ({"AzureWebJobsStorage__queueServiceUri": "https://stusermapper42.blob.core.windows.net"},
     "AzureWebJobsStorage__queueServiceUri"),
    ({"AzureWebJobsStorage__tableServiceUri": "http://127.0.0.1:10002/devstoreaccount1"},
     "AzureWebJobsStorage__tableServiceUri"),
    ({"USERMAPPER_STORAGE__accountName": "Not An Account"}, "USERMAPPER_STORAGE__accountName"),
], ids=["azure-nothing-set", "azure-emulator", "credential", "http", "wrong-service", "table-http", "account"])
def test_a_storage_setting_that_cannot_work_is_refused_naming_it(env, named):
    with pytest.raises(SettingError, match=named):
        Settings.from_environment(env)


@pytest.mark.parametrize("prefix", ["u", "usermappings", "UserMappings2", "a" * 53])
def test_a_table_prefix_leaves_room_for_the_hour(prefix):
    settings = Settings.from_environment({"USERMAPPER_TABLE": prefix})
    assert settings.table_name == prefix and 3 <= len(prefix + "2026112615") <= 63


@pytest.mark.parametrize("prefix", ["a" * 54, "1usermappings", "user-mappings", "user_mappings", "usér", " x"])
def test_a_table_prefix_that_makes_no_table_name_is_refused_naming_the_setting(prefix):
    with pytest.raises(SettingError, match="USERMAPPER_TABLE must be 1 to 53 letters and digits"):
        Settings.from_environment({"USERMAPPER_TABLE": prefix})


def test_no_table_prefix_is_the_default():
    assert Settings.from_environment({"USERMAPPER_TABLE": ""}).table_name == "usermappings"


def credential_of(storage: StorageTarget):
    return SessionStore.from_settings(Settings(storage=storage))._service.credential


def test_managedidentity_with_a_client_id_is_that_user_assigned_identity(identity_endpoint):
    credential = credential_of(target(**TEMPLATE))
    assert isinstance(credential, ManagedIdentityCredential)
    assert credential.get_token("https://storage.azure.com/.default").token == "token-for-the-test"
    assert identity_endpoint.client_ids == [CLIENT_ID]


def test_without_credential_it_is_default_azure_credential_with_the_client_id():
    credential = credential_of(StorageTarget(table_endpoint=TABLE, client_id=CLIENT_ID))
    assert isinstance(credential, DefaultAzureCredential)
    managed = [c for c in credential.credentials if isinstance(c, ManagedIdentityCredential)]
    assert managed and managed[0]._credential._settings["client_id"] == CLIENT_ID


def test_a_token_endpoint_that_never_answers_is_unavailable_within_seconds(silent_identity_endpoint):
    store = SessionStore.from_settings(Settings(storage=target(**TEMPLATE)))
    started = time.monotonic()
    with pytest.raises((StorageUnavailable, ClientAuthenticationError)):
        store.ping()
    assert time.monotonic() - started < 15


class _TokenHandler(BaseHTTPRequestHandler):
    """The App Service identity endpoint's protocol: GET with the resource and client id, a JSON token."""

    def do_GET(self):
        query = parse_qs(urlsplit(self.path).query)
        self.server.client_ids += query.get("client_id", [])
        body = json.dumps({"access_token": "token-for-the-test", "expires_on": str(int(time.time()) + 3600),
                           "resource": query.get("resource", [""])[0], "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def identity_endpoint(monkeypatch):
    """A managed identity endpoint on 127.0.0.1 that hands out tokens and records the client ids asked for."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    server.client_ids = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{server.server_port}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "secret-of-the-test")
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_identity_endpoint(monkeypatch):
    """An identity endpoint that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{listener.getsockname()[1]}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "secret-of-the-test")
    yield
    listener.close()
