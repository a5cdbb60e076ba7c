"""docker-compose.yml cannot be started here (nothing can be pulled), so its wiring is checked as data."""

from pathlib import Path

import pytest
import yaml

COMPOSE = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_it_has_every_production_service():
    assert set(SERVICES) == {"web", "worker", "redis", "postgres", "sandbox"}


@pytest.mark.parametrize("name", ["web", "worker"])
def test_the_app_services_wait_for_healthy_dependencies(name):
    depends = SERVICES[name]["depends_on"]
    assert depends["postgres"] == {"condition": "service_healthy"}
    assert depends["redis"] == {"condition": "service_healthy"}


@pytest.mark.parametrize("name", ["redis", "postgres", "sandbox", "web"])
def test_every_dependency_has_a_health_check(name):
    assert SERVICES[name]["healthcheck"]["test"]


def test_the_app_uses_postgres_and_redis_by_service_name():
    environment = SERVICES["worker"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://dockyard:")
    assert "@postgres:5432/dockyard" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert SERVICES["web"]["environment"]["DEBUG"] == "false"


def test_the_worker_reaches_the_sandbox_over_tls_with_client_certificates():
    worker = SERVICES["worker"]
    assert worker["environment"]["SANDBOX_DOCKER_HOST"] == "tcp://sandbox:2376"
    assert worker["environment"]["DOCKER_TLS_VERIFY"] == "1"
    assert "sandbox-certs-client:/certs/client:ro" in worker["volumes"]
    assert worker["depends_on"]["sandbox"] == {"condition": "service_healthy"}


def test_only_the_worker_gets_the_sandbox_client_certificates():
    holders = [
        name for name, service in SERVICES.items() if any("certs-client" in v for v in service.get("volumes", []))
    ]
    assert sorted(holders) == ["sandbox", "worker"]


def test_the_sandbox_is_dind_with_tls_limits_and_its_own_volume():
    sandbox = SERVICES["sandbox"]
    assert sandbox["image"].startswith("docker:") and "dind" in sandbox["image"]
    assert sandbox["environment"]["DOCKER_TLS_CERTDIR"] == "/certs"
    assert sandbox["mem_limit"] and sandbox["pids_limit"] and sandbox["cpus"]
    assert "sandbox-data:/var/lib/docker" in sandbox["volumes"]
    assert sandbox.get("runtime") == "sysbox-runc" or sandbox.get("privileged") is True
    assert "--bridge=none" in sandbox["command"]
    assert "ports" not in sandbox


def test_postgres_keeps_its_data_in_a_named_volume():
    assert "postgres-data:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert {"postgres-data", "sandbox-data"} <= set(COMPOSE["volumes"])
