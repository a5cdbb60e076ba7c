"""docker-compose.yml cannot be started here (nothing can be pulled), so its wiring is checked as data."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
WORKERS = ["worker-1", "worker-2"]
SANDBOXES = ["sandbox-a", "sandbox-b"]


def networks(name: str) -> set[str]:
    return set(SERVICES[name].get("networks") or ["default"])


def test_it_has_every_production_service():
    assert set(SERVICES) == {"web", *WORKERS, "catalog", *SANDBOXES, "redis", "postgres"}


@pytest.mark.parametrize("name", ["web", *WORKERS])
def test_the_app_services_wait_for_healthy_dependencies(name):
    depends = SERVICES[name]["depends_on"]
    assert depends["postgres"] == {"condition": "service_healthy"}
    assert depends["redis"] == {"condition": "service_healthy"}


@pytest.mark.parametrize("name", ["redis", "postgres", *SANDBOXES, "web"])
def test_every_dependency_has_a_health_check(name):
    assert SERVICES[name]["healthcheck"]["test"]


def test_the_app_uses_postgres_and_redis_by_service_name():
    for name in ("web", *WORKERS):
        environment = SERVICES[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://dockyard:")
        assert "@postgres:5432/dockyard" in environment["DATABASE_URL"]
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert SERVICES["web"]["environment"]["DEBUG"] == "false"


@pytest.mark.parametrize("name", WORKERS)
def test_two_workers_share_one_pool_of_two_sandboxes_over_tls(name):
    worker = SERVICES[name]
    environment = worker["environment"]
    assert environment["SANDBOX_COUNT"] == "0"
    assert environment["SANDBOX_REMOTE_HOSTS"].split(",") == ["tcp://sandbox-a:2376", "tcp://sandbox-b:2376"]
    assert environment["SANDBOX_TLS_CERT_PATH"] == "/certs/client"
    assert "sandbox-certs-client:/certs/client:ro" in worker["volumes"]
    assert worker["depends_on"]["catalog"] == {"condition": "service_completed_successfully"}
    assert worker["command"][:3] == ["celery", "-A", "tutorial"]


def test_the_catalog_is_loaded_into_the_sandboxes_once_they_answer():
    catalog = SERVICES["catalog"]
    assert catalog["command"] == ["python", "manage.py", "sandbox", "catalog"]
    assert catalog["environment"]["SANDBOX_REMOTE_HOSTS"] == SERVICES["worker-1"]["environment"]["SANDBOX_REMOTE_HOSTS"]
    assert all(catalog["depends_on"][name] == {"condition": "service_healthy"} for name in SANDBOXES)
    assert catalog["restart"] == "no"


def test_only_the_workers_and_the_catalog_loader_get_the_sandbox_client_certificates():
    holders = [
        name for name, service in SERVICES.items() if any("certs-client" in v for v in service.get("volumes", []))
    ]
    assert sorted(holders) == sorted(["catalog", *SANDBOXES, *WORKERS])


@pytest.mark.parametrize("name", SANDBOXES)
def test_each_sandbox_is_dind_with_tls_limits_and_its_own_volume(name):
    sandbox = SERVICES[name]
    assert sandbox["image"].startswith("docker:") and "dind" in sandbox["image"]
    assert sandbox["environment"]["DOCKER_TLS_CERTDIR"] == "/certs"
    # Its certificate names the address the workers use.
    assert sandbox["hostname"] == name and sandbox["environment"]["DOCKER_TLS_SAN"] == f"DNS:{name}"
    assert sandbox["mem_limit"] and sandbox["pids_limit"] and sandbox["cpus"]
    assert f"{name}-data:/var/lib/docker" in sandbox["volumes"]
    assert "--bridge=none" in sandbox["command"]
    assert "ports" not in sandbox


@pytest.mark.parametrize("name", SANDBOXES)
def test_each_sandbox_runs_in_a_user_namespace(name):
    sandbox = SERVICES[name]
    # Either sysbox maps the whole sandbox to unprivileged host users, or the daemon remaps its own builds.
    assert sandbox.get("runtime") == "sysbox-runc" or (
        sandbox.get("privileged") is True and "--userns-remap=default" in sandbox["command"]
    )


def test_the_readme_says_why_the_sandbox_daemon_does_not_remap_again_under_sysbox():
    readme = (ROOT / "README.md").read_text()
    assert "sysbox" in readme and "--userns-remap=default" in readme and "65536" in readme


def test_the_sandboxes_sit_on_an_internal_network_that_only_the_workers_reach():
    assert COMPOSE["networks"]["sandbox"] == {"internal": True}
    on_it = sorted(name for name in SERVICES if "sandbox" in networks(name))
    assert on_it == sorted(["catalog", *SANDBOXES, *WORKERS])
    for name in SANDBOXES:
        # No other network: nothing routes a sandbox to Redis, PostgreSQL, the web server or the internet.
        assert networks(name) == {"sandbox"}
    for name in ("web", "redis", "postgres"):
        assert "sandbox" not in networks(name)


def test_postgres_keeps_its_data_in_a_named_volume():
    assert "postgres-data:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert {"postgres-data", "sandbox-a-data", "sandbox-b-data"} <= set(COMPOSE["volumes"])
