"""A TCP forwarder on 127.0.0.1 that refuses connections until it is opened.

Its port is bound at once but not listened on, so until ``open()`` every connection to it is
refused by the kernel (as a port whose service has not started yet is), and no other program
can take the port meanwhile. Once open, it accepts and copies bytes both ways between each
client and the target port, untouched. Plain sockets and threads, nothing of bu-cdp's own.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable


class TcpForwarder:
    def __init__(self, target_port: int | None = None) -> None:
        # Where to forward to, on 127.0.0.1; may be set after the forwarder's own port is
        # known (a server that hands out the forwarder's address), before it is opened.
        self.target_port = target_port
        self.accepted = 0  # connections taken in and forwarded
        self.opened_at: float | None = None  # time.monotonic() when it began to listen
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    def __enter__(self) -> TcpForwarder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self) -> None:
        """Begin to listen and forward; from now on connections are accepted."""
        assert self.target_port is not None, "open() before target_port is set"
        with self._lock:
            if self.opened_at is not None or self._stopping.is_set():
                return
            self._listener.listen(16)
            self._listener.settimeout(0.1)  # so the accept loop sees close() soon
            self.opened_at = time.monotonic()
        self._start(self._accept_loop)

    def open_after(self, seconds: float) -> None:
        """``open()`` in ``seconds``, from a timer thread."""
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(seconds, self.open)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        """Stop listening and end every forwarded connection; waits for its threads."""
        self._stopping.set()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            sockets = [self._listener, *self._sockets]
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in list(self._threads):
            thread.join(10)

    def _start(self, target: Callable[..., object], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(
                    ("127.0.0.1", self.target_port or 0), timeout=10
                )
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                if self._stopping.is_set():
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
                self.accepted += 1
            self._start(self._pump, client, upstream)
            self._start(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        """Copy ``source`` to ``sink`` until ``source`` ends; then end ``sink``'s writing."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
