"""A private certificate authority and a server certificate for the emulator.

Made on first start under DATASET/tls/ and kept, so clients can pin
``ca.pem`` once (fmrest ``verify_ssl=path``, httpx ``verify=ssl_context``).
The server certificate is re-issued when a new host is asked for or when it
nears expiry; the CA is kept. Files are written atomically under a lock file,
so two emulators starting together cannot pair a key with another cert.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

from filemaker_migration.dataset import atomic_write_text

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")
_UNSPECIFIED = {"0.0.0.0", "::", ""}
_RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class TLSFiles:
    ca_bundle: Path
    cert: Path
    key: Path


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    atomic_write_text(path, pem.decode())
    os.chmod(path, 0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    atomic_write_text(path, cert.public_bytes(serialization.Encoding.PEM).decode())


def _make_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FileMaker emulator CA")])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    _write_key(directory / "ca-key.pem", key)
    _write_cert(directory / "ca.pem", cert)
    return cert, key


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key(
        (directory / "ca-key.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def _server_cert_ok(path: Path, ca: x509.Certificate, hosts: set[str]) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca.subject or cert.not_valid_after_utc - _now() < _RENEW_BEFORE:
        return False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have = {str(n.value) for n in names}
    return {str(_san(h).value) for h in hosts} <= have


def _make_server_cert(
    directory: Path,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: set[str],
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FileMaker emulator")])
        )
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=397))
        .add_extension(
            x509.SubjectAlternativeName([_san(h) for h in sorted(hosts)]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(directory / "server-key.pem", key)
    _write_cert(directory / "server.pem", cert)


def ensure_tls(directory: Path, hosts: tuple[str, ...] = ()) -> TLSFiles:
    """Create (or reuse) the CA and a server certificate covering ``hosts``."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = set(DEFAULT_HOSTS) | {h for h in hosts if h not in _UNSPECIFIED}
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (directory / "ca.pem").exists() and (directory / "ca-key.pem").exists():
            ca, ca_key = _load_ca(directory)
        else:
            ca, ca_key = _make_ca(directory)
        cert_path = directory / "server.pem"
        if (
            not _server_cert_ok(cert_path, ca, wanted)
            or not (directory / "server-key.pem").exists()
        ):
            if cert_path.exists():
                old = x509.load_pem_x509_certificate(cert_path.read_bytes())
                if old.issuer == ca.subject:
                    names = old.extensions.get_extension_for_class(
                        x509.SubjectAlternativeName
                    ).value
                    wanted |= {str(n.value) for n in names}
            _make_server_cert(directory, ca, ca_key, wanted)
    return TLSFiles(
        ca_bundle=directory / "ca.pem",
        cert=cert_path,
        key=directory / "server-key.pem",
    )
