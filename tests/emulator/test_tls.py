from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from filemaker_migration.emulator.tls import ensure_tls


def _names(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in san}


def test_ca_is_made_once_and_kept(tmp_path: Path):
    first = ensure_tls(tmp_path / "tls")
    ca = first.ca_bundle.read_bytes()
    again = ensure_tls(tmp_path / "tls")
    assert again.ca_bundle.read_bytes() == ca
    assert {"127.0.0.1", "localhost", "::1"} <= _names(first.cert)


def test_new_host_reissues_server_cert_under_same_ca(tmp_path: Path):
    first = ensure_tls(tmp_path / "tls")
    ca = first.ca_bundle.read_bytes()
    second = ensure_tls(tmp_path / "tls", ("fm.clinic.test", "10.0.0.5"))
    assert second.ca_bundle.read_bytes() == ca
    names = _names(second.cert)
    assert {"fm.clinic.test", str(ipaddress.ip_address("10.0.0.5"))} <= names
    assert "127.0.0.1" in names
    assert (tmp_path / "tls/server-key.pem").stat().st_mode & 0o077 == 0
