"""A local HTTP server that answers as GOV.UK Notify's API does for text messages, so the
official client (notifications-python-client) is exercised for real: its JWT, its request,
its handling of errors. Only the endpoint the sender uses: POST /v2/notifications/sms.

The shape of requests and responses follows Notify's API documentation
(https://docs.notifications.service.gov.uk/rest-api.html#send-a-text-message)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"thermablate_test-{SERVICE_ID}-{SECRET}"


class NotifyServer:
    def __init__(self):
        self.received: list[dict] = []
        self.fail_with: tuple[int, str] | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                try:
                    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
                    assert claims["iss"] == SERVICE_ID
                except Exception:
                    return self._answer(403, {"status_code": 403, "errors": [{"error": "AuthError", "message": "Invalid token"}]})  # fmt: skip
                if self.path != "/v2/notifications/sms":
                    return self._answer(404, {"status_code": 404, "errors": [{"error": "NotFound"}]})  # fmt: skip
                if server.fail_with:
                    status, error = server.fail_with
                    return self._answer(status, {"status_code": status, "errors": [{"error": error, "message": error}]})  # fmt: skip
                server.received.append(body)
                self._answer(201, {"id": str(uuid.uuid4()), "reference": body.get("reference"), "content": {"body": "..."}})  # fmt: skip

            def _answer(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
