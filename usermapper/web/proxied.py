"""An account reached through a proxy: the storage client's requests go through requests, which speaks to
proxies (tunnels, their auth), where ``transport.py`` does not.

Imported only when the environment names a proxy (``storage.service_client``): requests is about 57 ms of a
cold start (``python -X importtime``) that an app reaching storage directly never needs.
"""

from __future__ import annotations

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


def environment_proxies(url: str) -> dict[str, str]:
    """The proxies the environment (``HTTP(S)_PROXY``, ``NO_PROXY``) names for ``url``, read as requests
    reads them for every request, here once."""
    return requests.Session().merge_environment_settings(url, {}, None, None, None)["proxies"]


def proxied_transport(certificates: str, timeouts: dict[str, float]) -> RequestsTransport:
    """requests' transport over a ``ProxiedSession`` it owns (and closes with the client)."""
    return RequestsTransport(session=ProxiedSession(), session_owner=True, use_env_settings=False,
                             connection_verify=certificates, **timeouts)


class ProxiedSession(requests.Session):
    """A requests session whose settings are settled when it is made: the storage client signs and heads
    each request itself, never follows a redirect (the SDK's own policy does) and passes the proxies it was
    given with every request, so requests' merging of session headers, cookies, auth, hooks and environment
    into each request is skipped. ``~/.netrc`` is never read (its basic auth would replace the storage
    signature). The adapter never retries (the SDK's retry policy does).
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
