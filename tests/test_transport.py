"""The storage client's own transport (usermapper/web/transport.py), under the real table SDK, against a real
Azurite: it keeps connections alive, never reuses one the server has dropped, fails as azure-core's errors
say, and checks storage's certificate against the CA bundle the environment names (as requests did)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import threading
import time
from pathlib import Path

import pytest
from azure.core.exceptions import (
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import HttpRequest
from azure.data.tables import TableClient, TableServiceClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from azurite import DEV_ACCOUNT, DEV_ACCOUNT_KEY, Azurite, free_port
from tcpproxy import TcpProxy
from usermapper.web.settings import StorageTarget
from usermapper.web.storage import StorageUnavailable, service_client, storage_errors
from usermapper.web.transport import KeptAliveTransport

TIMEOUT = 1.0


def table_through(port: int, table_name: str) -> TableClient:
    """A table client on the development account at 127.0.0.1:``port`` that never retries: whatever the
    transport does, the test sees."""
    connection_string = (f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
                         f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};")
    transport = KeptAliveTransport(connection_timeout=TIMEOUT, read_timeout=TIMEOUT)
    service = TableServiceClient.from_connection_string(connection_string, transport=transport, retry_total=0)
    return service.get_table_client(table_name)


def test_requests_one_after_another_share_one_connection(azurite, table_name):
    with TcpProxy(azurite.port) as proxy:
        table = table_through(proxy.port, table_name)
        table.create_table()
        for row in range(20):
            table.upsert_entity({"PartitionKey": "p", "RowKey": str(row), "N": row})
            assert table.get_entity("p", str(row))["N"] == row
        assert proxy.accepted == 1


def test_a_connection_the_server_dropped_while_idle_is_never_reused(azurite, table_name):
    """Without a retry, the request after the drop succeeds: the transport saw the dropped connection and
    made a new one, rather than sending on it and failing."""
    with TcpProxy(azurite.port) as proxy:
        table = table_through(proxy.port, table_name)
        table.create_table()
        proxy.cut()
        time.sleep(0.2)  # the reset reaches the idle connection
        proxy.forward()
        table.upsert_entity({"PartitionKey": "p", "RowKey": "r"})
        assert proxy.accepted == 2


def test_concurrent_requests_each_get_a_connection_of_their_own(azurite, table_name):
    with TcpProxy(azurite.port) as proxy:
        table = table_through(proxy.port, table_name)
        table.create_table()
        failures: list[BaseException] = []

        def writes(thread: int) -> None:
            try:
                for row in range(25):
                    table.upsert_entity({"PartitionKey": str(thread), "RowKey": str(row), "Thread": thread})
                    assert table.get_entity(str(thread), str(row))["Thread"] == thread
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)

        threads = [threading.Thread(target=writes, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures
        assert len(list(table.list_entities())) == 200
        assert proxy.accepted <= 8


def test_storage_that_stops_answering_is_a_response_timeout(azurite, table_name):
    with TcpProxy(azurite.port) as proxy:
        table = table_through(proxy.port, table_name)
        table.create_table()
        proxy.stall()
        started = time.monotonic()
        with pytest.raises(ServiceResponseTimeoutError):
            table.get_entity("p", "r")
        assert time.monotonic() - started < TIMEOUT + 1
        proxy.forward()


def test_nothing_listening_is_a_request_error_the_sdk_may_retry(table_name):
    with pytest.raises(ServiceRequestError):
        table_through(free_port(), table_name).create_table()


def test_error_answers_reach_the_sdk_whole(azurite, table_name):
    """A 404's body carries storage's error code, which the SDK reads to raise the right exception."""
    table = table_through(azurite.port, table_name)
    with pytest.raises(ResourceNotFoundError) as missing:
        table.get_entity("p", "r")
    assert missing.value.error_code == "TableNotFound"


# -- https ---------------------------------------------------------------------------------------------------

@pytest.fixture
def tls_azurite(tmp_path: Path):
    """Azurite answering https with a certificate for 127.0.0.1 that no public CA signed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    with Azurite(tls=(cert_file, key_file)) as storage:
        yield storage, cert_file


def test_https_storage_is_trusted_through_the_bundle_the_environment_names(tls_azurite, table_name, monkeypatch):
    storage, certificate = tls_azurite
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    service = service_client(StorageTarget(connection_string=storage.connection_string))
    table = service.create_table(table_name)
    table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "Said": "over https"})
    assert table.get_entity("p", "r")["Said"] == "over https"


def test_https_storage_with_a_certificate_no_trusted_ca_signed_is_unavailable(tls_azurite, table_name, monkeypatch):
    """Without the bundle, the certificates trusted are certifi's, as through requests: storage whose
    certificate none of them signed is refused at the handshake, never sent a signed request."""
    storage, _ = tls_azurite
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    service = service_client(StorageTarget(connection_string=storage.connection_string))
    with pytest.raises(StorageUnavailable) as unavailable, storage_errors():
        service.create_table(table_name)
    assert "CERTIFICATE_VERIFY_FAILED" in str(unavailable.value)


# -- the answers HTTP/1.1 allows, from a server that sends exactly the bytes each test gives ------------------

class ScriptedServer:
    """Answers each request on 127.0.0.1 with the next of ``answers`` (raw bytes), then closes the
    connection if the answer says ``Connection: close`` or has no length."""

    def __init__(self, *answers: bytes):
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        while self.answers:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with client:
                client.settimeout(5)
                while self.answers:
                    received = b""
                    while b"\r\n\r\n" not in received:
                        piece = client.recv(65536)
                        if not piece:
                            break
                        received += piece
                    if not received:
                        break
                    head, _, body = received.partition(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    while len(body) < length:
                        body += client.recv(65536)
                    self.requests.append(head + b"\r\n\r\n" + body)
                    answer = self.answers.pop(0)
                    client.sendall(answer)
                    if b"close" in answer.lower().split(b"\r\n\r\n")[0] or b"content-length" not in answer.lower() \
                            and b"chunked" not in answer.lower():
                        break


def send(server: ScriptedServer, method: str = "GET", body: bytes | str | None = None):
    transport = KeptAliveTransport(connection_timeout=TIMEOUT, read_timeout=TIMEOUT)
    return transport.send(HttpRequest(method, f"http://127.0.0.1:{server.port}/devstoreaccount1/t()?a=1",
                                      headers={"x-ms-version": "2019-02-02"}, content=body)), transport


@pytest.mark.parametrize("answer, content", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nTrailer: x\r\n\r\n",
     b"hello"),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello until the end", b"hello until the end"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok"),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", b""),
    (b"HTTP/1.0 200 OK\r\n\r\nold", b"old"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", b"ok"),
], ids=["content-length", "chunked", "until closed", "interim 100", "204", "HTTP/1.0", "repeated length"])
def test_every_framing_storage_may_use_is_read_whole(answer, content):
    with ScriptedServer(answer) as server:
        response, _ = send(server)
    assert response.status_code in (200, 204)
    assert response.content == content


def test_a_repeated_header_reaches_the_sdk_with_every_value():
    answer = b"HTTP/1.1 200 OK\r\nX-Ms-Thing: a\r\nx-ms-thing: b\r\nContent-Length: 0\r\n\r\n"
    with ScriptedServer(answer) as server:
        response, _ = send(server)
    assert response.headers["X-MS-THING"] == "a, b"


def test_the_request_is_written_as_http_1_1_with_its_body_and_length():
    """A text body goes as UTF-8, its length counted in bytes (azure-core counts its characters)."""
    with ScriptedServer(b"HTTP/1.1 204 No Content\r\n\r\n") as server:
        send(server, "PUT", '{"a": "ö"}')
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"PUT /devstoreaccount1/t()?a=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines and b"x-ms-version: 2019-02-02" in lines
    assert b"Content-Length: 11" in lines and body == '{"a": "ö"}'.encode()


def test_a_kept_connection_carries_the_next_request_and_a_closed_one_does_not():
    keep = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
    with ScriptedServer(keep, keep) as server:
        first, transport = send(server)
        second = transport.send(HttpRequest("GET", f"http://127.0.0.1:{server.port}/x"))
    assert (first.content, second.content) == (b"a", b"a")


@pytest.mark.parametrize("answer", [
    b"SPDY/3 200 OK\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nbroken header line\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\ncut",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhel",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX: " + b"x" * (70 * 1024) + b"\r\n\r\n",
    b"",
    b"HTTP/1.1 100 Continue\r\n\r\n" * 9 + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 \xb2\xb2\xb2 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: \xb9\r\n\r\nx",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nhelXX2\r\nlo\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n-2\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5_0\r\n" + b"x" * 80 + b"\r\n0\r\n\r\n",
], ids=["not http", "four-digit status", "header without colon", "cut short", "chunk size not hex",
        "chunk cut short", "two lengths", "head over 64 KiB", "closed without answer",
        "interim answers without end", "superscript status",
        "superscript length", "chunk without its CRLF", "chunk size 0x", "negative chunk size",
        "chunk size with underscore"])
def test_an_answer_http_does_not_allow_is_a_response_error(answer):
    with ScriptedServer(answer) as server, pytest.raises(ServiceResponseError):
        send(server)


def test_bytes_after_a_complete_answer_are_never_read_as_the_next_request_s_answer():
    """A server that sends more than its answer framed (a 204 with a body, a wrong Content-Length) leaves
    bytes on the connection: the next request must not take them for its own answer."""
    fresh = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh"
    for first in (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
                  b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"):
        with ScriptedServer(first, fresh) as server:
            _, transport = send(server)
            second = transport.send(HttpRequest("GET", f"http://127.0.0.1:{server.port}/x"))
        assert second.content == b"fresh"


@pytest.mark.parametrize("answer, content", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\nX-Then: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     b"5\r\nhello\r\n0\r\n\r\n"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n", b"hello"),
], ids=["a coding that only ends in chunked", "framed both chunked and by length"])
def test_an_answer_framed_in_doubt_is_read_as_its_last_coding_says_and_its_connection_not_reused(answer, content):
    """Transfer-Encoding's last coding decides (RFC 9112 6.3): "xchunked" is not chunked, so the answer runs
    until the server closes (here it does: the ScriptedServer closes after a head that holds "close"); an
    answer framed both ways is read chunked, and its connection, whichever framing the server meant, is
    not trusted again."""
    with ScriptedServer(answer) as server:
        response, transport = send(server)
    assert response.content == content
    assert not any(transport._idle.values())


def test_a_request_s_own_read_timeout_holds_on_a_reused_connection():
    """azure-core passes ``read_timeout`` with each request (an operation may give its own): a kept
    connection made under another one must wait this one's, not the one it was made with."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def answer_once() -> None:
        client, _ = listener.accept()
        accepted.append(client)
        client.recv(65536)
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")  # and then never again

    server = threading.Thread(target=answer_once, daemon=True)
    server.start()
    transport = KeptAliveTransport(connection_timeout=TIMEOUT, read_timeout=30)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
    try:
        transport.send(HttpRequest("GET", url))
        started = time.monotonic()
        with pytest.raises(ServiceResponseTimeoutError):
            transport.send(HttpRequest("GET", url), read_timeout=0.3)
        assert time.monotonic() - started < 5
    finally:
        server.join(5)
        for client in accepted:
            client.close()
        listener.close()
        transport.close()


def test_a_line_break_in_a_header_never_reaches_the_wire():
    with ScriptedServer(b"HTTP/1.1 204 No Content\r\n\r\n") as server:
        transport = KeptAliveTransport(connection_timeout=TIMEOUT, read_timeout=TIMEOUT)
        with pytest.raises(ValueError):
            transport.send(HttpRequest("GET", f"http://127.0.0.1:{server.port}/x",
                                       headers={"x-ms-thing": "a\r\nx-ms-other: b"}))
        transport.send(HttpRequest("GET", f"http://127.0.0.1:{server.port}/x"))
    assert len(server.requests) == 1 and b"x-ms-other" not in server.requests[0]


def test_an_answer_in_a_charset_python_does_not_know_is_read_as_utf8():
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=klingon\r\nContent-Length: 7\r\n\r\n"
              b'"\xc3\xb6k"  ')
    with ScriptedServer(answer) as server:
        response, _ = send(server)
    assert response.text() == '"\u00f6k"  ' and response.json() == "\u00f6k"
