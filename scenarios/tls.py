"""A throwaway local certificate authority for ``careflow up --tls`` (made with ``trustme``).

The CA's private key never leaves memory; the server's key is in memory too (``trustme`` loads
it into the ``SSLContext`` through a temporary file it deletes at once). On disk, in a fresh
temporary folder removed when the stack stops: ``ca.pem`` (the CA certificate, the info file's
``ca_file``, for ``NODE_EXTRA_CA_CERTS``) and ``bundle.pem`` (the usual public roots plus the
CA, for ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``, which replace a client's roots rather than
add to them: other HTTPS sites keep working in a shell that sets them).
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


@dataclass
class LocalCA:
    directory: Path
    ca_file: Path
    bundle_file: Path
    server_context: ssl.SSLContext  # what every server of the stack presents
    client_context: ssl.SSLContext  # trusts the CA: the stack's own outbound client

    def env(self) -> dict[str, str]:
        """Environment variables that make common clients trust the CA."""
        return {
            "SSL_CERT_FILE": str(self.bundle_file),  # OpenSSL: Python ssl, httpx, curl, Ruby
            "REQUESTS_CA_BUNDLE": str(self.bundle_file),  # requests
            "NODE_EXTRA_CA_CERTS": str(self.ca_file),  # Node.js (fetch, https), added to its roots
        }

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _names(host: str) -> list[str]:
    """What the certificate is valid for: loopback, and the bound host unless a wildcard."""
    names = list(LOOPBACK_NAMES)
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        unspecified = False
    if host and not unspecified and host not in names:
        names.append(host)
    return names


def _public_roots() -> str:
    try:
        import certifi
    except ImportError:
        return ""
    return Path(certifi.where()).read_text()


def local_ca(host: str = "127.0.0.1") -> LocalCA:
    """A new CA and a server certificate for ``host`` and loopback."""
    ca = trustme.CA(organization_name="careflow-sandbox local CA (throwaway)")
    leaf = ca.issue_cert(*_names(host))
    directory = Path(tempfile.mkdtemp(prefix="careflow-tls-"))
    ca_file, bundle_file = directory / "ca.pem", directory / "bundle.pem"
    ca_pem = ca.cert_pem.bytes().decode()
    ca_file.write_text(ca_pem)
    bundle_file.write_text(_public_roots().rstrip("\n") + "\n" + ca_pem)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return LocalCA(directory, ca_file, bundle_file, server_context, client_context)
