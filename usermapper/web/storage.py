"""Reaching Azure Table Storage: the service client, set up once, and what its failures mean to a user.

Dead storage must answer within seconds, not the SDK's minutes; a missing role or a wrong key is the
operator's to fix and is logged so; anything storage cannot do right now is ``StorageUnavailable``, which
the routes answer with a 503 and ``Retry-After``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from urllib.request import getproxies

import certifi
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableServiceClient

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

    The environment's CA bundle and proxy settings (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``,
    ``HTTP(S)_PROXY``, ``NO_PROXY``) are read here, once, as requests would read them for every request:
    storage's certificate is checked against the bundle they name, else certifi's, as through requests.
    An account behind a proxy is reached through requests (``proxied.py``), every other one through
    ``KeptAliveTransport``.
    """
    if target.connection_string:
        build = partial(TableServiceClient.from_connection_string, target.connection_string)
    else:
        build = partial(TableServiceClient, target.table_endpoint, credential=_credential(target))
    certificates = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    client = build(use_env_settings=False, transport=KeptAliveTransport(certificates=certificates, **TIMEOUTS),
                   **CLIENT_OPTIONS)
    if not getproxies():  # no proxy variable set at all: requests need not even be imported
        return client
    from .proxied import environment_proxies, proxied_transport

    proxies = environment_proxies(client.url)
    if not proxies:  # NO_PROXY names the account
        return client
    client.close()
    return build(use_env_settings=False, proxies=proxies, transport=proxied_transport(certificates, TIMEOUTS),
                 **CLIENT_OPTIONS)


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
