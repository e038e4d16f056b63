"""A real OpenID provider for tests: RSA and EC keys generated here, discovery and JWKS served over HTTP
on 127.0.0.1 (http.server in a thread), ID tokens signed with PyJWT and forgeries built by hand."""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

CLIENT_ID = "avm-web"


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class IdP:
    """One provider: `issuer` is its base URL; `keys` are kid -> (private key, alg) it publishes."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[Any, str]] = {}
        self.fetches = {"discovery": 0, "jwks": 0}
        self.add_key(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
        self.add_key(ec.generate_private_key(ec.SECP256R1()), "ES256")
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/.well-known/openid-configuration":
                    idp.fetches["discovery"] += 1
                    body = {"issuer": idp.issuer, "jwks_uri": idp.issuer + "/jwks",
                            "id_token_signing_alg_values_supported": ["RS256", "ES256"]}
                elif self.path == "/jwks":
                    idp.fetches["jwks"] += 1
                    body = idp.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_key(self, key: Any, alg: str) -> str:
        kid = f"k-{uuid.uuid4().hex[:10]}"
        self.keys[kid] = (key, alg)
        return kid

    def rotate(self) -> str:
        """Publish a new RSA key only (the old ones are withdrawn); its kid."""
        self.keys = {}
        return self.add_key(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, (key, alg) in self.keys.items():
            algorithm = jwt.get_algorithm_by_name(alg)
            jwk = json.loads(algorithm.to_jwk(key.public_key()))
            out.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": out}

    def kid(self, alg: str = "RS256") -> str:
        return next(k for k, (_, a) in self.keys.items() if a == alg)

    def env(self, name: str = "test", **extra: str) -> dict[str, str]:
        """The AVM_OIDC_* settings of a service that trusts this provider as `name`."""
        var = f"AVM_OIDC_{name.upper()}_"
        return {"AVM_OIDC_PROVIDERS": name, var + "ISSUER": self.issuer, var + "CLIENT_ID": CLIENT_ID,
                var + "ALGORITHMS": "RS256,ES256", "AVM_OIDC_JWKS_REFRESH_COOLDOWN_SECONDS": "0", **extra}

    def claims(self, sub: str | None = None, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        sub = sub or f"sub-{uuid.uuid4().hex}"
        return {"iss": self.issuer, "aud": CLIENT_ID, "sub": sub, "iat": now, "exp": now + 600,
                "email": f"{sub}@example.com", "email_verified": True, "name": "Signed In",
                "nonce": uuid.uuid4().hex, **extra}

    def token(self, sub: str | None = None, *, alg: str = "RS256", kid: str | None = None, **extra: Any) -> str:
        kid = kid or self.kid(alg)
        key, _ = self.keys[kid]
        return jwt.encode(self.claims(sub, **extra), key, algorithm=alg, headers={"kid": kid})
