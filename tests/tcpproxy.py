"""A small TCP proxy on 127.0.0.1 for fault tests: it forwards to one port, and can be made slow, stalled or
cut while it runs.

- ``forward()``: pass bytes both ways (after ``latency`` seconds per chunk, if set);
- ``stall()``: accept connections but forward nothing, in either direction, until forwarding again: like a
  server that froze, it then delivers what it held, even requests whose clients have given up;
- ``cut()``: reset every open connection, and reset new ones as soon as they are accepted.

Nothing here depends on pytest. Every thread wakes up at least every ``TICK`` seconds to look at the mode
and at ``stop()``, so nothing it starts outlives it.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from azurite import free_port

TICK = 0.05
CHUNK = 64 * 1024
CONNECT_TIMEOUT = 2
JOIN_TIMEOUT = 5

FORWARD, STALL, CUT = "forward", "stall", "cut"


class TcpProxy:
    """Listens on ``port`` and relays each connection to ``target_port`` on 127.0.0.1."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.latency = 0.0
        self.mode = FORWARD
        self.accepted = 0  # connections accepted so far, whatever became of them
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None

    # -- switching ----------------------------------------------------------------------------------------

    def forward(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.mode = FORWARD

    def stall(self) -> None:
        self.mode = STALL

    def cut(self) -> None:
        """Reset every open connection now; new ones are reset on arrival until ``forward()``."""
        self.mode = CUT
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            _reset(sock)

    # -- running ------------------------------------------------------------------------------------------

    def start(self) -> "TcpProxy":
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(TICK)
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            sock.close()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"tcpproxy {self.port}")
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            self.accepted += 1
            if self.mode == CUT:
                _reset(client)
                continue
            self._track(client)
            self._spawn(self._connect_and_relay, client)

    def _connect_and_relay(self, client: socket.socket) -> None:
        """Connect upstream once the proxy forwards (a stalled proxy holds the client unanswered)."""
        self._hold_while_stalled()
        if self.mode == CUT or self._stopping.is_set():
            self._drop(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=CONNECT_TIMEOUT)
        except OSError:
            self._drop(client)
            return
        self._track(upstream)
        self._spawn(self._relay, upstream, client)
        self._relay(client, upstream)

    def _relay(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy bytes from ``source`` to ``sink`` as the mode allows, until either side closes."""
        try:
            source.settimeout(TICK)
            while not self._stopping.is_set():
                self._hold_while_stalled()
                if self.mode == CUT:
                    break
                try:
                    data = source.recv(CHUNK)
                except socket.timeout:
                    continue
                if not data:
                    break
                self._hold_while_stalled()
                if self.latency:
                    time.sleep(self.latency)
                self._send(sink, data)
        except OSError:
            pass
        finally:
            self._drop(source)
            self._drop(sink)

    def _hold_while_stalled(self) -> None:
        while self.mode == STALL and not self._stopping.is_set():
            time.sleep(TICK)

    def _send(self, sink: socket.socket, data: bytes) -> None:
        """All of ``data``, however slowly the other side reads, unless the proxy stops or cuts."""
        while data and not self._stopping.is_set() and self.mode != CUT:
            try:
                data = data[sink.send(data):]
            except socket.timeout:
                continue

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        if self.mode == CUT:
            _reset(sock)
        else:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a crashed server or a broken network does, not with an orderly FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
