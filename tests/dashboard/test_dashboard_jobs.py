"""Issue #9: Generate & Install as a job over the REST API, and its failure as the user
reads it: the one-line error, and the progress line that says what was rolled back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from origincert.files import write_atomic
from origincert.sandbox import Sandbox
from tests.dashboard.live import Client
from tests.e2e.origin import AGENCY, agency_token

SITE = "blog.example.org"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    sb = Sandbox.start(AGENCY, state_dir=tmp_path_factory.mktemp("jobs-sandbox"))
    yield sb
    sb.stop()


def flaky_reload(folder) -> str:  # type: ignore[no-untyped-def]
    """A reload command that fails the first time (the change) and works after (the undo)."""
    script = folder / "reload"
    write_atomic(script, f"#!/bin/sh\nif [ -e {folder}/reloaded ]; then exit 0; fi\n"
                         f"touch {folder}/reloaded\n"
                         "echo 'nginx: [emerg] simulated reload failure' >&2\nexit 1\n",
                 mode=0o755)
    return str(script)


def wait_for(client: Client, location: str, headers: dict[str, str]) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(location, headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {location} did not finish")


def test_a_failed_generate_and_install_says_what_was_rolled_back(live, sandbox, tmp_path):
    dashboard = live(sandbox.base_url, nginx_reload_command=flaky_reload(tmp_path))
    token, _ = dashboard.app.state.dashboard.users.create_token("jobs")
    bearer = {"Authorization": f"Bearer {token}"}
    with dashboard.client() as client:
        connected = client.post("/api/v1/accounts", headers=bearer,
                                json={"name": "agency", "token": agency_token("full access")})
        assert connected.status_code == 201, connected.text
        assert agency_token("full access") not in connected.text
        assert connected.json()["fingerprint"]

        started = client.post(f"/api/v1/sites/{SITE}/certificates", headers=bearer,
                              json={"zone": False})
        assert started.status_code == 202, started.text
        assert started.headers["location"] == f"/api/v1/jobs/{started.json()['id']}"
        job = wait_for(client, started.headers["location"], bearer)

        assert job["status"] == "failed", job
        assert "simulated reload failure" in job["error"]["message"]
        assert "rolled back: configuration files restored and reloaded" in job["lines"]
        assert any(line.startswith("Cloudflare issued certificate") for line in job["lines"])
        # reading from a line on gives the lines after it only
        tail = client.get(started.headers["location"] + "?since=2", headers=bearer).json()
        assert tail["lines"] == job["lines"][2:] and tail["line_count"] == len(job["lines"])

        # the tree is as it was, and the SSL tab shows the failure in one line
        assert dashboard.tree.current_files() == dashboard.tree.fixture_files()
        assert client.setup().status_code == 303 and client.login().status_code == 303
        page = client.get(f"/sites/{SITE}/ssl?job={job['id']}").text
        assert 'id="job-error"' in page and "simulated reload failure" in page
        assert "rolled back: configuration files restored and reloaded" in page


@pytest.mark.servers
def test_doctor_runs_as_a_job_and_its_findings_reach_the_pages(live, sandbox):
    dashboard = live(sandbox.base_url)
    token, _ = dashboard.app.state.dashboard.users.create_token("doctor")
    bearer = {"Authorization": f"Bearer {token}"}
    with dashboard.client() as client:
        client.post("/api/v1/accounts", headers=bearer,
                    json={"name": "agency", "token": agency_token("full access")})
        started = client.post("/api/v1/doctor", headers=bearer)
        assert started.status_code == 202, started.text
        job = wait_for(client, started.headers["location"], bearer)
        assert job["status"] == "succeeded", job
        report = job["result"]
        assert report["hostnames"] and "findings" in report
        assert client.get("/api/v1/doctor", headers=bearer).json()["job"]["id"] == job["id"]

        assert client.setup().status_code == 303 and client.login().status_code == 303
        page = client.get("/doctor").text
        assert 'id="doctor-verdict"' in page
        assert SITE in page
        sites = client.get("/sites").text
        assert "No doctor findings yet" not in sites


@pytest.mark.servers
def test_renew_and_revoke_from_the_certificates_inventory(live, sandbox):
    dashboard = live(sandbox.base_url)
    dashboard.tree.start()
    token, _ = dashboard.app.state.dashboard.users.create_token("lifecycle")
    bearer = {"Authorization": f"Bearer {token}"}
    with dashboard.client() as client:
        client.post("/api/v1/accounts", headers=bearer,
                    json={"name": "agency", "token": agency_token("full access")})
        started = client.post(f"/api/v1/sites/{SITE}/certificates", headers=bearer,
                              json={"zone": False})
        issued = wait_for(client, started.headers["location"], bearer)
        assert issued["status"] == "succeeded", issued
        first = issued["result"]["certificate"]["id"]

        renewing = client.post(f"/api/v1/certificates/{first}/renew", headers=bearer)
        assert renewing.status_code == 202, renewing.text
        renewed = wait_for(client, renewing.headers["location"], bearer)
        assert renewed["status"] == "succeeded", renewed
        outcome = renewed["result"]["reports"][0]["sites"][0]
        assert outcome["result"] == "renewed" and outcome["old_id"] == first

        rows = client.get("/api/v1/certificates", headers=bearer).json()["certificates"]
        states = {row["id"]: row["state"] for row in rows}
        assert states[first] == "superseded" and states[outcome["new_id"]] == "served"

        # the served one is refused without force; the replaced one is revoked
        refused = client.post(f"/api/v1/certificates/{outcome['new_id']}/revoke",
                              headers=bearer, json={})
        assert refused.status_code == 400 and "526" in refused.json()["error"]["message"]
        revoked = client.post(f"/api/v1/certificates/{first}/revoke", headers=bearer)
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["cloudflare_id"] == issued["result"]["certificate"][
            "cloudflare_id"]

        assert client.setup().status_code == 303 and client.login().status_code == 303
        page = client.get("/certificates?all=true").text
        assert f'id="renew-{outcome["new_id"]}"' in page
        assert "revoked" in page
