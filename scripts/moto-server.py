"""moto's S3 server for the tests, with writes made atomic.

moto checks a conditional write (`If-None-Match: *`, create-if-absent) and
stores the object in two steps, on a threaded server: two concurrent
creates of one key can both succeed, which real S3 never allows. sift
claims push numbers with exactly such creates, so with plain moto_server
fifty concurrent recorders could (rarely) both get push 43. Here every
write (PUT, POST, DELETE) runs under one lock, as one step, while reads
stay concurrent.

    python moto-server.py HOST PORT
"""

import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

WRITES = {"PUT", "POST", "DELETE"}


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def atomic_writes(environ, start_response):
        if environ.get("REQUEST_METHOD") in WRITES:
            with lock:
                # The whole response is produced inside the lock.
                return list(app(environ, start_response))
        return app(environ, start_response)

    run_simple(host, port, atomic_writes, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
