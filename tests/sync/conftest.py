"""An S3 server for the whole run (moto, on 127.0.0.1), a bucket per test, two machines."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The suite runs with --import-mode=importlib, which leaves sys.path alone; the test modules
# here import their helpers as ``sync_helpers``.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_helpers import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    Machine,
    S3Server,
    free_port,
    make_machine,
    wait_for_port,
)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    import boto3
    import botocore.config
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        wait_for_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        admin = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=botocore.config.Config(s3={"addressing_style": "path"}),
        )
        yield S3Server(endpoint, port, admin)
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_aws_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def machines(tmp_path: Path, s3_server: S3Server, bucket: str) -> tuple[Machine, Machine]:
    """Machines A and B, each with the remote ``origin`` (the test's bucket)."""
    pair = (make_machine(tmp_path, "a"), make_machine(tmp_path, "b"))
    for machine in pair:
        added = machine.run(
            "remote", "add", "origin", f"s3://{bucket}/team", "--endpoint-url", s3_server.endpoint
        )
        assert added.returncode == 0, added.stderr
    return pair
