"""Reaching Azure Table Storage: the service client, set up once, and what its failures mean to a user.

Dead storage must answer within seconds, not the SDK's minutes; a missing role or a wrong key is the
operator's to fix and is logged so; anything storage cannot do right now is ``StorageUnavailable``, which
the routes answer with a 503 and ``Retry-After``.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import certifi
import requests
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableServiceClient
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .settings import StorageTarget
from .transport import KeptAliveTransport

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 5
REFUSED_ACCESS = (401, 403)  # a wrong key or a missing role: storage is there but not for us

# Dead storage must answer within seconds, not the SDK's minutes: one quick retry, short timeouts.
TIMEOUTS = {"connection_timeout": 3, "read_timeout": 3}
CLIENT_OPTIONS = {
    **TIMEOUTS,
    "retry_total": 1,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 2,
}


class StorageUnavailable(Exception):
    """Storage did not answer, timed out, or answered 5xx or throttled; retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int = DEFAULT_RETRY_AFTER):
        super().__init__(message)
        self.retry_after = retry_after


def service_client(target: StorageTarget) -> TableServiceClient:
    """The account's table service: a connection string (``UseDevelopmentStorage=true`` only for
    Azurite's default port), or an https endpoint reached with the app's identity. Each hour's table
    client comes from it (``get_table_client``) and shares its pipeline and its kept-alive connections.

    The environment's proxy and CA bundle settings (``HTTP(S)_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``) are read here, once, for the table endpoint, as requests would read them: the
    certificates storage's is checked against are the bundle they name, else certifi's, as through
    requests. An account reached through a proxy is reached through requests (``ProxiedSession``), which
    speaks to proxies; every other one through ``KeptAliveTransport``. ``~/.netrc`` is never read (its basic
    auth would replace the storage signature).
    """
    if target.connection_string:
        build = partial(TableServiceClient.from_connection_string, target.connection_string)
    else:
        build = partial(TableServiceClient, target.table_endpoint, credential=_credential(target))
    client = build(use_env_settings=False, transport=_kept_alive(certifi.where()), **CLIENT_OPTIONS)
    environment = requests.Session().merge_environment_settings(client.url, {}, None, None, None)
    if environment["proxies"]:
        client.close()
        transport = RequestsTransport(session=ProxiedSession(), session_owner=True, use_env_settings=False,
                                      connection_verify=environment["verify"], **TIMEOUTS)
        client = build(use_env_settings=False, proxies=environment["proxies"], transport=transport,
                       **CLIENT_OPTIONS)
    elif environment["verify"] is not True:
        client.close()
        client = build(use_env_settings=False, transport=_kept_alive(environment["verify"]), **CLIENT_OPTIONS)
    return client


def _kept_alive(certificates: str) -> KeptAliveTransport:
    """The transport for an account reached directly, trusting the certificates in ``certificates`` (a
    bundle file, or a directory of them) for an https endpoint."""
    if os.path.isdir(certificates):
        tls = ssl.create_default_context(capath=certificates)
    else:
        tls = ssl.create_default_context(cafile=certificates)
    return KeptAliveTransport(tls=tls, **TIMEOUTS)


class ProxiedSession(requests.Session):
    """A requests session for an account reached through a proxy, whose settings are settled when it is
    made: the storage client signs and heads each request itself, never follows a redirect (the SDK's own
    policy does) and passes the proxies it was given with every request, so requests' merging of session
    headers, cookies, auth, hooks and environment into each request is skipped. The adapter never retries
    (the SDK's retry policy does).
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        adapter = HTTPAdapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
        for scheme in ("http://", "https://"):
            self.mount(scheme, adapter)

    def request(self, method: str, url: str, *, headers=None, data=None, files=None, verify=True, timeout=None,
                cert=None, proxies=None, stream=False, allow_redirects=False, **unused) -> requests.Response:
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, headers=headers, data=data, files=files)
        return self.get_adapter(url).send(prepared, stream=stream, timeout=timeout, verify=verify, cert=cert,
                                          proxies=proxies or {})


def _credential(target: StorageTarget) -> TokenCredential:
    """The identity the Functions host would use for the same settings: the managed identity (the
    user-assigned one ``client_id`` names) with ``__credential=managedidentity``, else DefaultAzureCredential.
    Token requests get the same short timeouts as storage requests, so a dead identity endpoint is a 503
    within seconds."""
    # Imported here, where it is needed: only an identity-based connection uses azure.identity, which brings
    # msal and cryptography (bench/bench_coldstart.py: 70 ms of every cold start with a connection string).
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    timeouts = {**TIMEOUTS, "retry_total": CLIENT_OPTIONS["retry_total"]}
    if target.managed_identity:
        return ManagedIdentityCredential(client_id=target.client_id, **timeouts)
    return DefaultAzureCredential(managed_identity_client_id=target.client_id, process_timeout=10, **timeouts)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn the SDK's ways of saying "storage is not there right now" into StorageUnavailable."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as error:
        raise StorageUnavailable(f"storage did not answer: {error}") from error
    except ClientAuthenticationError as error:
        # No token for the app's identity: the operator must fix it; users can only wait.
        log.error("storage credentials failed (check the app's identity and its role on the account): %s", error)
        raise StorageUnavailable(f"storage credentials failed: {error}") from error
    except HttpResponseError as error:
        status = error.status_code or 0
        if status in REFUSED_ACCESS:
            log.error("storage refused the app (%s: check the connection string's key, or the identity's role "
                      "on the account): %s", status, error.reason)
        elif status < 500 and status != 429:
            raise
        raise StorageUnavailable(f"storage answered {status}: {error.reason}", _retry_after(error)) from error


def _retry_after(error: HttpResponseError) -> int:
    header = error.response.headers.get("Retry-After", "") if error.response is not None else ""
    return int(header) if header.isdigit() else DEFAULT_RETRY_AFTER
