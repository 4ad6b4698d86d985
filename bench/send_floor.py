"""The floor under the live channel's fan-out: 1000 bare socket sends, nothing else.

    .venv/bin/python -m bench.send_floor [--clients 1000] [--procs 4] [--rounds 30]

One process holds the server ends of ``--clients`` loopback TCP connections and sends a
300-byte WebSocket text frame to each in turn, with plain ``socket.send`` (no event loop,
no framework), once a second; ``--procs`` reader processes hold the client ends and wait
in ``epoll`` like the browsers' stand-ins in ``bench.events_ws``. Reports the time of one
round (1000 sends) and per send: what the kernel charges the sender on loopback, where
delivering the bytes and waking the reader happen on the sender's time. Compare with the
server fan-out figure of ``bench.events_ws`` (publish to the last send started).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import select
import socket
import statistics
import time
from multiprocessing.connection import Connection

FRAME = b"\x81\x7e\x01\x2c" + b"x" * 300  # a 300-byte text frame, as the server sends it


def _reader(address: tuple[str, int], count: int, ready: Connection, stop: Connection) -> None:
    sockets = [socket.create_connection(address) for _ in range(count)]
    poller = select.epoll()
    for sock in sockets:
        sock.setblocking(False)
        poller.register(sock.fileno(), select.EPOLLIN)
    by_fd = {sock.fileno(): sock for sock in sockets}
    ready.send(count)
    while not stop.poll():
        for fd, _ in poller.poll(0.2):
            by_fd[fd].recv(65536)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.send_floor", description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    listener = socket.create_server(("127.0.0.1", 0), backlog=args.clients)
    shares = [
        args.clients // args.procs + (i < args.clients % args.procs) for i in range(args.procs)
    ]
    stop_read, stop_write = multiprocessing.Pipe(duplex=False)
    readers = []
    for share in shares:
        ready_read, ready_write = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(
            target=_reader, args=(listener.getsockname(), share, ready_write, stop_read)
        )
        process.start()
        readers.append((process, ready_read))
    senders = []
    for _ in range(args.clients):
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        senders.append(sock)
    for _, ready in readers:
        ready.recv()
    rounds = []
    for _ in range(args.rounds):
        began = time.perf_counter()
        for sock in senders:
            sock.send(FRAME)
        rounds.append((time.perf_counter() - began) * 1000)
        time.sleep(1.0)
    stop_write.send(True)
    for process, _ in readers:
        process.join(10)
    rounds.sort()
    median = statistics.median(rounds)
    print("| sends per round | rounds | median ms | max ms | median per send |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {args.clients} | {args.rounds} | {median:.1f} | {rounds[-1]:.1f} "
        f"| {median * 1000 / args.clients:.1f} µs |"
    )


if __name__ == "__main__":
    main()
