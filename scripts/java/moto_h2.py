#!/usr/bin/env python3
"""moto (Kinesis + DynamoDB + everything else moto emulates) served by hypercorn, so that one port
accepts HTTP/1.1 *and* cleartext HTTP/2 (h2c, prior knowledge and Upgrade).

Why: the Java KCL's Kinesis client (AWS SDK v2, Netty) speaks only HTTP/2, which `moto_server`
(werkzeug) cannot serve; the Rust AWS SDK (kcl-bridge, our tests) and boto3 speak HTTP/1.1.

Usage (run with the repository's venv):
    .venv/bin/python scripts/java/moto_h2.py PORT [--host 127.0.0.1] [--threads 16]
                                                  [--access-log FILE]

PORT 0 picks a free port. Once a real HTTP request to the server has been answered, one line is
printed to stdout (and flushed):
    moto-h2 ready http://127.0.0.1:<port>
Everything else (hypercorn's error log) goes to stderr; no access log unless --access-log.
SIGTERM / SIGINT: graceful shutdown, exit 0.

The app is moto's own server app, exactly as `moto_server` builds it, with DynamoDB's item writes
made atomic first (scripts/moto_atomic.py):
    moto.moto_server.werkzeug_app.DomainDispatcherApplication(create_backend_app)
It is a plain WSGI callable; hypercorn detects that (its `__call__` is not a coroutine) and wraps
it itself, so no WSGI->ASGI adapter is needed. hypercorn runs each WSGI request in the event loop's
default thread pool; we size it with --threads (moto_server is also multi-threaded).
"""
import argparse
import asyncio
import concurrent.futures
import os
import signal
import socket
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int, help="TCP port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--threads", type=int, default=16,
                        help="worker threads for WSGI requests (default 16)")
    parser.add_argument("--access-log", default=None, metavar="FILE",
                        help="write hypercorn's access log (one line per request, with the HTTP "
                             "version and user agent) to FILE ('-' = stdout); default: none")
    return parser.parse_args(argv)


async def wait_until_serving(host, port, shutdown):
    """Answer True once a real HTTP/1.1 request gets a status line back."""
    request = ("GET /moto-api/reset-auth HTTP/1.1\r\nHost: {}:{}\r\n"
               "Connection: close\r\n\r\n").format(host, port).encode()
    while not shutdown.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            if status.startswith(b"HTTP/1.1 "):
                return True
        except (OSError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(0.05)
    return False


async def main(argv):
    args = parse_args(argv)

    # Bind ourselves (instead of letting hypercorn do it) so PORT 0 works and we know the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    # moto builds some URLs (e.g. SQS queue URLs) from MOTO_PORT, as moto_server sets it.
    os.environ.setdefault("MOTO_PORT", str(port))

    from hypercorn.asyncio import serve
    from hypercorn.config import Config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    # DynamoDB's conditional writes atomic, as DynamoDB's are (see scripts/moto_atomic.py).
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from moto_atomic import make_dynamodb_atomic
    make_dynamodb_atomic()
    app = DomainDispatcherApplication(create_backend_app)

    config = Config()
    config.bind = ["fd://{}".format(sock.fileno())]
    config.accesslog = args.access_log
    config.errorlog = "-"          # stderr
    # Access lines are logged at INFO; the same level applies to the error log (a few start-up lines).
    config.loglevel = "INFO" if args.access_log else "WARNING"
    config.keep_alive_timeout = 75  # Java and the Rust SDK pool connections; don't drop them at 5 s
    config.graceful_timeout = 3

    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=args.threads))
    shutdown = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, shutdown.set)

    server = asyncio.ensure_future(serve(app, config, shutdown_trigger=shutdown.wait, mode="wsgi"))
    ready = asyncio.ensure_future(wait_until_serving(args.host, port, shutdown))
    done, _ = await asyncio.wait({server, ready}, return_when=asyncio.FIRST_COMPLETED)
    if ready in done and ready.result():
        print("moto-h2 ready http://{}:{}".format(args.host, port), flush=True)
    await server  # re-raises if hypercorn failed


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
