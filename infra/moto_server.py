"""moto's server, with two changes. It handles one request at a time:

moto's backends take no locks, so two concurrent TransactWriteItems can both pass their
conditions and both write (seen here: a ticket number handed out twice under 200 concurrent
openings). Real DynamoDB serialises conflicting transactions; serialising every request
gives the stand-in that guarantee, so the contract suite tests our conditions, not moto's
thread safety.

It also judges every call a function makes against the function's policy in template.yaml
(infra/iam/enforce.py), as AWS would.

    python infra/moto_server.py <host> <port>
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "iam"))
from enforce import Enforcer  # noqa: E402


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = Enforcer(DomainDispatcherApplication(create_backend_app))
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            body = app(environ, start_response)
            try:
                # Produce the whole answer inside the lock.
                return [b"".join(body)]
            finally:
                if hasattr(body, "close"):
                    body.close()

    run_simple(host, port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
