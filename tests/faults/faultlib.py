#!/usr/bin/env python3
"""Helpers for tests/faults/netns.sh (standard library only).

  faultlib.py check JSONFILE CONNS [--min-p50-us N] [--min-max-us N]
      Reads netpoll_stress's --json summary and applies a stricter verdict than its exit
      status: the tool's exit status only counts wrong bytes and hangs, so this also requires
      no error of any kind, every connection connected and finished, and some messages.
      The optional floors check that an injected fault was really felt (a delay raises p50,
      a blackhole raises the max latency). Prints one line; exit 0 when all hold.

  faultlib.py bulk HOST:PORT BYTES [--timeout SECS] [--min-secs S]
      Sends BYTES of random data to an echo server (directly or through the proxy), half-closes,
      reads the echo until EOF and compares length and SHA-256 of both directions. Sending and
      receiving run at once (a thread each), so the echo never blocks on a full window.
      --min-secs fails the run if it went faster than a rate limit allows (the limit was not
      in force). Prints one line; exit 0 when the bytes came back intact.

  faultlib.py relay LISTEN_HOST:PORT TARGET_HOST:PORT DELAY_MS
      A delaying TCP relay (asyncio): every chunk read from either side is written to the other
      side DELAY_MS later, in order (a delay line, not a rate limit). Half-closes are passed on
      after the data before them; a connection ends when both directions are done. Prints
      `listening on HOST:PORT` once bound; exits 0 on SIGTERM/SIGINT.
"""

import asyncio
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time


def split_addr(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


# ---------------------------------------------------------------------------- check


def cmd_check(argv):
    path, conns = argv[0], int(argv[1])
    min_p50 = min_max = 0
    rest = argv[2:]
    while rest:
        flag, val, rest = rest[0], int(rest[1]), rest[2:]
        if flag == "--min-p50-us":
            min_p50 = val
        elif flag == "--min-max-us":
            min_max = val
        else:
            raise SystemExit(f"check: unknown flag {flag}")
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        s = json.loads(lines[-1])
    except (OSError, IndexError, ValueError) as e:
        print(f"no JSON summary ({e})")
        return 1
    lat = s.get("latency_us", {})
    problems = []
    if not s.get("ok"):
        problems.append("tool verdict not ok")
    for key in ("mismatches", "hung", "errors"):
        if s.get(key, 1) != 0:
            problems.append(f"{key}={s.get(key)}")
    if s.get("connects") != conns:
        problems.append(f"connected {s.get('connects')}/{conns}")
    if s.get("conns_finished") != conns:
        problems.append(f"finished {s.get('conns_finished')}/{conns}")
    if s.get("messages", 0) <= 0:
        problems.append("no messages")
    if lat.get("p50", 0) < min_p50:
        problems.append(f"p50 {lat.get('p50')} us < {min_p50} us: the fault was not felt")
    if lat.get("max", 0) < min_max:
        problems.append(f"max latency {lat.get('max')} us < {min_max} us: the fault was not felt")
    detail = "{} msgs, {:.1f} MB, p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms".format(
        s.get("messages", 0),
        s.get("bytes", 0) / 1e6,
        lat.get("p50", 0) / 1e3,
        lat.get("p99", 0) / 1e3,
        lat.get("max", 0) / 1e3,
    )
    if s.get("errors_by_kind"):
        detail += f", errors {s['errors_by_kind']}"
    if problems:
        print(f"{detail}; FAILED: {'; '.join(problems)}")
        return 1
    print(detail)
    return 0


# ---------------------------------------------------------------------------- bulk


def cmd_bulk(argv):
    addr, total = argv[0], int(argv[1])
    timeout, min_secs = 60.0, 0.0
    rest = argv[2:]
    while rest:
        flag, val, rest = rest[0], float(rest[1]), rest[2:]
        if flag == "--timeout":
            timeout = val
        elif flag == "--min-secs":
            min_secs = val
        else:
            raise SystemExit(f"bulk: unknown flag {flag}")
    start = time.monotonic()
    sock = socket.create_connection(split_addr(addr), timeout=timeout)
    sock.settimeout(timeout)  # per send/recv call: no progress for this long is a hang
    sent_hash, sent = hashlib.sha256(), [0]
    send_error = []

    def sender():
        try:
            chunk_size = 256 * 1024
            while sent[0] < total:
                chunk = os.urandom(min(chunk_size, total - sent[0]))
                sent_hash.update(chunk)
                sock.sendall(chunk)
                sent[0] += len(chunk)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            send_error.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    recv_hash, received = hashlib.sha256(), 0
    recv_error = None
    try:
        while True:
            data = sock.recv(1 << 20)
            if not data:
                break
            recv_hash.update(data)
            received += len(data)
            if received > total:
                break
    except OSError as e:
        recv_error = e
    t.join(timeout)
    sock.close()
    secs = time.monotonic() - start
    mib = total / (1 << 20)
    detail = f"{mib:.0f} MiB through {addr} in {secs:.1f} s ({total * 8 / secs / 1e6:.1f} Mbit/s each way)"
    problems = []
    if t.is_alive():
        problems.append("sender hung")
    if send_error:
        problems.append(f"send: {send_error[0]!r}")
    if recv_error:
        problems.append(f"recv: {recv_error!r}")
    if sent[0] != total:
        problems.append(f"sent {sent[0]}/{total} bytes")
    if received != total:
        problems.append(f"received {received}/{total} bytes")
    elif recv_hash.digest() != sent_hash.digest():
        problems.append("sha256 of the echo differs from what was sent")
    if secs < min_secs:
        problems.append(f"took {secs:.1f} s < {min_secs:.1f} s: the rate limit was not in force")
    if problems:
        print(f"{detail}; FAILED: {'; '.join(problems)}")
        return 1
    print(f"{detail}, sha256 equal")
    return 0


# ---------------------------------------------------------------------------- relay


async def delay_pipe(reader, writer, delay):
    """Copies reader to writer, each chunk delivered `delay` seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivery = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(64 * 1024)
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
        await delivery
    finally:
        delivery.cancel()


async def relay_conn(c_reader, c_writer, target, delay):
    try:
        u_reader, u_writer = await asyncio.wait_for(
            asyncio.open_connection(*target), timeout=10
        )
    except (OSError, asyncio.TimeoutError) as e:
        print(f"relay: upstream {target}: {e!r}", file=sys.stderr)
        c_writer.close()
        return
    for w in (c_writer, u_writer):
        s = w.get_extra_info("socket")
        if s is not None:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.gather(
            delay_pipe(c_reader, u_writer, delay), delay_pipe(u_reader, c_writer, delay)
        )
    except (OSError, asyncio.CancelledError) as e:
        print(f"relay: connection ended: {e!r}", file=sys.stderr)
    finally:
        c_writer.close()
        u_writer.close()


async def relay_main(listen, target, delay):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(
        lambda r, w: relay_conn(r, w, target, delay), *listen, backlog=1024
    )
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    await stop.wait()
    server.close()
    return 0


def cmd_relay(argv):
    listen, target, delay_ms = split_addr(argv[0]), split_addr(argv[1]), float(argv[2])
    return asyncio.run(relay_main(listen, target, delay_ms / 1000.0))


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("check", "bulk", "relay"):
        print(__doc__, file=sys.stderr)
        return 2
    return {"check": cmd_check, "bulk": cmd_bulk, "relay": cmd_relay}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
