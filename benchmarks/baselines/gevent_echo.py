#!/usr/bin/python3
"""gevent_echo: the gevent baseline for braid's echo benchmark.

A gevent StreamServer with one greenlet per connection, written the way a
gevent user would write it. Run it with the system interpreter
(/usr/bin/python3, where Debian's python3-gevent lives).

Usage: /usr/bin/python3 gevent_echo.py [--port P]
  P = 0 (default) picks an ephemeral port.
Prints "listening on PORT" once ready; exits 0 on SIGTERM or SIGINT.
Binds 127.0.0.1 only: the benchmark runs over loopback.
Exits 77 (the conventional "skipped" code) when gevent is not installed.
"""
import argparse
import signal
import socket
import sys

try:
    import gevent
    import gevent.event
    from gevent.server import StreamServer
except ImportError as exc:  # let the benchmark driver report a skip, not a crash
    print(f"gevent_echo: gevent is not available: {exc}", file=sys.stderr)
    sys.exit(77)

# Same bound on a read as asio_spawn_echo's per-connection buffer.
READ_SIZE = 4096


def echo(sock, _address):
    # Ping-pong: Nagle would hold back the tail of a split echo.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            data = sock.recv(READ_SIZE)
            if not data:
                return
            sock.sendall(data)
    except ConnectionError:
        return  # a client that stops mid-exchange resets: an ordinary end


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    # StreamServer's default backlog is small; 1000 connections arrive in
    # bursts, so ask for what the kernel allows (net.core.somaxconn caps it).
    server = StreamServer(("127.0.0.1", args.port), echo, backlog=socket.SOMAXCONN)
    server.start()

    stop = gevent.event.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, stop.set)

    print(f"listening on {server.server_port}", flush=True)
    stop.wait()
    # Do not wait for handlers: clients of a stopped benchmark may never close.
    server.stop(timeout=0)


if __name__ == "__main__":
    main()
