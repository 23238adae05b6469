"""Issue #8: hooks get the site, names and paths; a failing hook stops only its own site."""

from __future__ import annotations

import pytest

from tests.e2e.origin import leaf_der, observe
from tests.lifecycle.conftest import SITES

pytestmark = pytest.mark.servers


def read_env(path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_hooks_receive_the_certbot_and_origincert_variables_and_no_credential(world, tmp_path):
    blog = SITES[0]
    world.issue(blog)
    out = tmp_path / "hooks"
    out.mkdir()
    # a string runs with sh -c, a list as argv
    world.configure(
        f'pre_hook = "env > {out}/pre-$ORIGINCERT_SITE.env"\n'
        f'deploy_hook = ["sh", "-c", "env > {out}/deploy-$ORIGINCERT_SITE.env"]\n'
        f'post_hook = "env > {out}/post-$ORIGINCERT_SITE.env"\n')

    run = world.cli("renew", "--site", blog, "--rotate-key",
                    env={"CLOUDFLARE_API_TOKEN": "never-for-hooks-0123456789"})

    assert run.code == 0, run
    new = next(r for r in world.certs() if r["served"])
    deploy = read_env(out / f"deploy-{blog}.env")
    live = world.origin.state / "live" / blog
    assert deploy["RENEWED_LINEAGE"] == str(live)
    assert deploy["RENEWED_DOMAINS"] == blog
    assert deploy["ORIGINCERT_SITE"] == blog
    assert deploy["ORIGINCERT_HOSTNAMES"] == blog
    assert deploy["ORIGINCERT_CERT_PATH"] == str(live / "cert.pem")
    assert deploy["ORIGINCERT_KEY_PATH"] == str(live / "privkey.pem")
    assert deploy["ORIGINCERT_CF_ID"] == new["cloudflare_id"]
    assert deploy["ORIGINCERT_HOOK"] == "deploy"
    # when the deploy hook runs, the live files are the new certificate, and it is served
    assert leaf_der(deploy["ORIGINCERT_CERT_PATH"]) == observe("127.0.0.1", 443, blog)
    assert read_env(out / f"pre-{blog}.env")["ORIGINCERT_HOOK"] == "pre"
    assert read_env(out / f"post-{blog}.env")["ORIGINCERT_RESULT"] == "renewed"
    for name in ("pre", "deploy", "post"):
        text = (out / f"{name}-{blog}.env").read_text()
        assert "CLOUDFLARE_" not in text and "never-for-hooks" not in text


def test_a_failing_hook_is_reported_and_the_other_sites_are_renewed(world, tmp_path):
    blog, store, docs = SITES
    first = {name: world.issue(name)["id"] for name in SITES}
    world.configure(f'pre_hook = \'test "$ORIGINCERT_SITE" != {store}\'\n'
                    f'deploy_hook = \'test "$ORIGINCERT_SITE" != {docs}\'\n')

    run = world.cli("renew", "--rotate-key")

    assert run.code == 1, run
    assert f"renew {store} failed: pre hook failed: exit 1" in run.stderr, run
    assert f"renew {docs} failed: deploy hook failed: exit 1" in run.stderr, run
    serving = {r["hostnames"][0]: r["id"] for r in world.certs() if r["served"]}
    assert serving[blog] != first[blog]
    assert serving[store] == first[store]      # its pre hook failed: left as it was
    assert serving[docs] != first[docs]        # renewed; only its deploy hook failed
