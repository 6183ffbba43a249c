"""A real S3 API server for tests and benchmarks: moto's server mode on a free loopback port.

Genesis talks to it over HTTP with the same boto3 code it uses against AWS, MinIO or R2; nothing
patches the client. Credentials are fixed test values set in the environment (the standard AWS
chain reads them), with the user's own AWS config files hidden.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: What the AWS credential chain finds while the server runs.
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "genesis-test",
    "AWS_SECRET_ACCESS_KEY": "genesis-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/genesis-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/genesis-test-aws-credentials",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class S3Server:
    """A running moto server: its endpoint, and buckets made on it."""

    endpoint: str
    server: Any
    saved_env: dict[str, str | None] = field(default_factory=dict)

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=self.endpoint)

    def bucket(self, name: str | None = None) -> str:
        """A new, empty bucket."""
        name = name or f"genesis-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, prefix: str = "genesis") -> dict[str, str]:
        """``GENESIS_*`` variables for S3 storage in ``bucket`` (plus the credentials)."""
        return {
            **TEST_ENV,
            "GENESIS_STORAGE": f"s3://{bucket}/{prefix}",
            "GENESIS_S3_ENDPOINT_URL": self.endpoint,
        }

    def stop(self) -> None:
        self.server.stop()
        for k, v in self.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start_s3_server() -> S3Server:
    """Start moto's S3 server on 127.0.0.1 and point the AWS credential chain at test keys."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in TEST_ENV}
    os.environ.update(TEST_ENV)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return S3Server(f"http://127.0.0.1:{port}", server, saved)


def object_keys(server: S3Server, bucket: str, prefix: str = "") -> list[str]:
    """Every key in ``bucket`` under ``prefix``."""
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def write_noise_clip(path: Path, seconds: float = 3.0) -> Path:
    """A valid H.264 clip of lossless noise (incompressible: about 3 MB a second at 320x240),
    for uploads that must be several S3 parts."""
    import subprocess

    from genesis_pipeline.media.ffmpeg import ffmpeg_exe

    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=320x240:rate=25:duration={seconds}",
            "-vf",
            "noise=alls=100:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path


def s3_would_accept(url: str, method: str, headers: dict[str, str], now: float) -> bool:
    """Whether S3 itself would accept a request to the presigned ``url`` carrying ``headers``
    at time ``now``: what AWS checks and moto's server does not (it verifies neither presigned
    signatures nor ``X-Amz-Expires``). The request must carry every header the URL signed, its
    signature must be the one recomputed over the headers it sends (Content-Length, the
    checksum), and the URL must not have expired."""
    import calendar
    import time
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    q = dict(query)
    signed = q["X-Amz-SignedHeaders"].split(";")
    issued = calendar.timegm(time.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    if now > issued + int(q["X-Amz-Expires"]):
        return False
    sent = {k.lower(): v for k, v in headers.items()}
    if any(h not in sent and h != "host" for h in signed):
        return False
    rest = [(k, v) for k, v in query if k != "X-Amz-Signature"]
    unsigned = urlunsplit(parts._replace(query=urlencode(rest)))
    request = AWSRequest(
        method=method, url=unsigned, headers={h: sent[h] for h in signed if h in sent}
    )
    request.context["timestamp"] = q["X-Amz-Date"]
    credentials = Credentials(TEST_ENV["AWS_ACCESS_KEY_ID"], TEST_ENV["AWS_SECRET_ACCESS_KEY"])
    region = q["X-Amz-Credential"].split("/")[2]
    auth = S3SigV4QueryAuth(credentials, "s3", region, expires=int(q["X-Amz-Expires"]))
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    return bool(signature == q["X-Amz-Signature"])
