"""Docker SDK clients for the sandbox daemons, and the one exception every Docker failure becomes.

Every module that talks to a daemon through the SDK gets its client from `make_client` and wraps its calls in
`translate_docker_errors`, so a learner never sees a raw Docker API error: they see a `SandboxError` whose
message says what could not be done, in words. Setting a daemon up (starting it, writing its limits, loading
the catalog) fails with a `SandboxSetupError` instead, whose message is for the operator.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import docker.errors
import requests.exceptions
from django.conf import settings
from docker.constants import MINIMUM_DOCKER_API_VERSION
from docker.utils import kwargs_from_env

logger = logging.getLogger(__name__)

API_TIMEOUT_SECONDS = 60
PING_TIMEOUT_SECONDS = 10
UNAVAILABLE_MESSAGE = "The build sandbox is not answering; try again in a minute."
# Each daemon's API version, as it said the first time this process asked (see make_client).
API_VERSIONS: dict[str, str] = {}


class SandboxSetupError(Exception):
    """A sandbox daemon could not be set up, started, reached or stopped. The message, for the operator, says why."""


class SandboxError(Exception):
    """Docker work that could not be done. `reason` is a short code, `message` is for the learner."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def docker_environment(docker_host: str) -> dict[str, str]:
    """DOCKER_HOST and, for a daemon reached over TCP, the TLS settings that reach it (for the SDK and the CLI).

    A TCP daemon is always verified with the client certificate in SANDBOX_TLS_CERT_PATH (ca.pem, cert.pem,
    key.pem); the machine's own DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are used when that setting is empty.
    """
    environment = {"DOCKER_HOST": docker_host}
    if docker_host.startswith("tcp://"):
        cert_path = settings.SANDBOX_TLS_CERT_PATH or os.environ.get("DOCKER_CERT_PATH", "")
        if cert_path:
            environment.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=cert_path)
        elif os.environ.get("DOCKER_TLS_VERIFY"):
            environment["DOCKER_TLS_VERIFY"] = os.environ["DOCKER_TLS_VERIFY"]
    return environment


def make_client(docker_host: str, timeout: float = API_TIMEOUT_SECONDS, ping: bool = True) -> docker.DockerClient:
    """A docker SDK client for one sandbox daemon. Raises SandboxError when it cannot be reached.

    A daemon reached over TCP is spoken to over TLS (see docker_environment). ping=False skips the extra round
    trip to the daemon: one is still made, to learn its API version or, once this process knows it, to ping (a
    daemon's /version asks containerd and runc for theirs, several milliseconds each time; /_ping is nearly free).
    """
    settings_from_env = kwargs_from_env(environment=docker_environment(docker_host))
    try:
        # The version is asked for only once the client ignores the machine's environment: requests would
        # otherwise let REQUESTS_CA_BUNDLE replace the sandbox's own CA, and HTTP(S)_PROXY route its traffic.
        client = docker.DockerClient(
            version=MINIMUM_DOCKER_API_VERSION, timeout=min(timeout, PING_TIMEOUT_SECONDS), **settings_from_env
        )
        client.api.trust_env = False
        known = API_VERSIONS.get(docker_host)
        if known is None:
            client.api._version = API_VERSIONS[docker_host] = client.api._retrieve_server_version()
        else:
            client.api._version = known
        if ping or known is not None:
            client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        logger.warning("Sandbox daemon %s is not answering: %s", docker_host, error)
        raise SandboxError("daemon_unavailable", UNAVAILABLE_MESSAGE) from None
    client.api.timeout = timeout
    return client


@contextmanager
def translate_docker_errors(action: str) -> Iterator[None]:
    """Turn docker SDK and connection errors into SandboxErrors with words (`action` says what failed)."""
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise as_sandbox_error(error, action) from None


def as_sandbox_error(error: Exception, action: str) -> SandboxError:
    """The SandboxError that says, in words, why `action` failed with this docker SDK error."""
    logger.info("Docker call failed (%s): %r", action, error)
    # Over a unix socket a read timeout arrives as a ConnectionError that says "Read timed out".
    if isinstance(error, requests.exceptions.Timeout) or "timed out" in str(error).lower():
        return SandboxError("timeout", f"The sandbox took too long to {action}.")
    if isinstance(error, requests.exceptions.ConnectionError):
        return SandboxError("daemon_unavailable", UNAVAILABLE_MESSAGE)
    if isinstance(error, docker.errors.NotFound):
        return SandboxError("not_found", f"Could not {action}: it no longer exists in the sandbox.")
    if isinstance(error, docker.errors.APIError):
        explanation = str(error.explanation or error)[:300]
        return SandboxError("docker_error", f"The sandbox could not {action}: {explanation}")
    return SandboxError("docker_error", f"The sandbox could not {action}.")
