"""``careflow up --tls``: every service over HTTPS with a throwaway local CA, so a client that
cannot be patched (here Node.js with only ``fetch``) works unchanged but for its base URL."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from careflow.scenarios.server import spawn_up, stop_up

NODE_SCRIPT = Path(__file__).parent / "node" / "whatconverts_lead.mjs"


def test_up_tls_serves_https_that_node_fetch_trusts(tmp_path: Path) -> None:
    node = shutil.which("node")
    info_file = tmp_path / "stack.json"
    proc = spawn_up(info_file, "--tls")
    try:
        info = json.loads(info_file.read_text())
        ca_file = Path(info["ca_file"])
        assert ca_file.is_file()
        services = {k: v for k, v in info.items() if k != "ca_file"}
        assert all(entry["url"].startswith("https://127.0.0.1:") for entry in services.values())
        trusted = ssl.create_default_context(cafile=str(ca_file))
        with httpx.Client(verify=trusted) as client:
            for name, entry in services.items():
                health = client.get(f"{entry['url']}/__sandbox/health")
                assert health.json()["service"] == name
            assert client.get(f"{info['engine']['url']}/__sandbox/stack").json() == info
            # the engine reaches the fakes over HTTPS too (its client trusts the CA)
            engine = info["engine"]["url"]
            wc = info["whatconverts"]
            client.post(
                f"{engine}/api/authentications",
                json={"name": "wc", "app": "whatconverts", "credentials": wc},
            ).raise_for_status()
            workflow = client.post(
                f"{engine}/api/workflows",
                json={
                    "name": "tls",
                    "trigger": {
                        "app": "whatconverts",
                        "event": "new_lead",
                        "auth": "wc",
                        "params": {"profile_id": wc["profile_id"]},
                    },
                    "steps": [
                        {
                            "id": "read",
                            "app": "whatconverts",
                            "action": "get_leads",
                            "auth": "wc",
                            "params": {"profile_id": wc["profile_id"], "max_items": 1},
                        }
                    ],
                },
            ).json()
            step = client.post(f"{engine}/api/workflows/{workflow['id']}/test-step/read")
            assert step.status_code == 200 and step.json()["output"]["leads"], step.text
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{wc['url']}/__sandbox/health")  # not trusted without the CA
        if node is None:
            pytest.skip("node is not installed")
        env = {
            **os.environ,
            "NODE_EXTRA_CA_CERTS": str(ca_file),
            "WHATCONVERTS_URL": wc["url"],
            "WC_API_TOKEN": wc["api_token"],
            "WC_API_SECRET": wc["api_secret"],
        }
        run = subprocess.run(
            [node, str(NODE_SCRIPT)], env=env, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["lead_type"] == "Web Form"
    finally:
        out, err = stop_up(proc)
    assert proc.returncode == 0, err.decode()
    assert b"NODE_EXTRA_CA_CERTS=" in out and b"SSL_CERT_FILE=" in out
    assert not ca_file.parent.exists()  # throwaway: gone with the stack
