#!/usr/bin/env python3
"""A Docker registry token server for tests: the other half of a real docker-registry
configured with `auth: token`, so berth's anonymous bearer-token flow meets a registry
that refuses every request without a token.

Anonymous callers get a token for `pull` on the repositories they ask for, never `push`.
Tokens are RS256 JWTs carrying the signing certificate in `x5c`, which the registry checks
against its `rootcertbundle`. Signing uses the openssl command line (stdlib only here).
Each request is appended to LOG as one line `scope=<scope>` so a test can prove the flow ran.

    token-server.py PORT KEY.pem CERT.pem ISSUER LOG
"""

import base64
import json
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def certificate_der(cert_path: str) -> bytes:
    return subprocess.run(
        ["openssl", "x509", "-in", cert_path, "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout


def sign(key_path: str, payload: bytes) -> bytes:
    return subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", key_path],
        input=payload,
        check=True,
        capture_output=True,
    ).stdout


def pull_access(scopes: list[str]) -> list[dict]:
    """Grants `pull` (only) on each `repository:NAME:ACTIONS` scope asked for."""
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) < 3 or parts[0] != "repository":
            continue
        name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
        if "pull" in actions:
            access.append({"type": "repository", "name": name, "actions": ["pull"]})
    return access


def main() -> None:
    port, key_path, cert_path, issuer, log_path = sys.argv[1:6]
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(certificate_der(cert_path)).decode()]}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            if url.path != "/token":
                self.send_error(404)
                return
            query = parse_qs(url.query)
            scopes = query.get("scope", [])
            with open(log_path, "a", encoding="utf-8") as log:
                for scope in scopes or [""]:
                    log.write(f"scope={scope}\n")
            now = int(time.time())
            claims = {
                "iss": issuer,
                "sub": "",
                "aud": query.get("service", [""])[0],
                "exp": now + 300,
                "nbf": now - 10,
                "iat": now,
                "jti": uuid.uuid4().hex,
                "access": pull_access(scopes),
            }
            signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
            token = f"{signing_input}.{b64url(sign(key_path, signing_input.encode()))}"
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
