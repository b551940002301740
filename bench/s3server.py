"""moto's S3 served with HTTP keep-alive, in its own process, for the benchmark.

    python -m bench.s3server --port PORT

`moto_server` answers every request on a fresh connection (it closes each one
after its answer), so every put pays a TCP handshake and a server thread
start. Amazon S3 keeps connections alive; so does this server: moto's own
WSGI application under cheroot, as the emulator is served.
"""

from __future__ import annotations

import argparse

from cheroot import wsgi
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.moto_server.werkzeug_app import create_backend_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=64)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    server = wsgi.Server(
        ("127.0.0.1", args.port),
        app,
        numthreads=args.threads,
        max=args.threads,
        request_queue_size=256,
    )
    server.keep_alive_conn_limit = 1024
    server.safe_start()


if __name__ == "__main__":
    main()
