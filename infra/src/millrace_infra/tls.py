"""A local certificate authority and the broker's certificate, as PEM files.

The secured stack serves TLS with a certificate from a CA of its own, made on first start
and kept in the stack's home; clients trust that CA through MILLRACE_KAFKA_TLS_CAFILE.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CA_DAYS = 3650
_SERVER_DAYS = 825  # the longest validity clients commonly accept for a leaf certificate
_HOSTS = ("localhost",)
_ADDRESSES = ("127.0.0.1",)


@dataclass(frozen=True)
class TlsFiles:
    """Where the stack's TLS material lives."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        """The CA certificate clients trust."""
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def server_keystore(self) -> Path:
        """The broker's unencrypted PKCS#8 key followed by its certificate chain, the one-file
        form Kafka's PEM keystore reads."""
        return self.folder / "kafka-server.pem"


@dataclass(frozen=True)
class CertificateAuthority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _now() -> dt.datetime:
    # A minute back: a client whose clock is slightly behind still accepts a fresh cert.
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def new_ca(common_name: str = "Millrace local stack CA") -> CertificateAuthority:
    """A self-signed CA that may sign leaf certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(cert, key)


def server_certificate(
    ca: CertificateAuthority, key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    """A leaf for the broker, valid for the names clients dial (127.0.0.1, localhost)."""
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in _HOSTS]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in _ADDRESSES]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "millrace-kafka")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + dt.timedelta(days=_SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )


def _write_private(path: Path, data: bytes) -> None:
    """Written 0600 from the first byte: a key must never be readable by others, not even
    for the moment between write and chmod."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_tls(folder: Path) -> TlsFiles:
    """Make the CA and the broker's keystore unless they exist; the CA is kept across
    restarts so clients configured once stay valid."""
    files = TlsFiles(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if files.ca_cert.is_file() and files.ca_key.is_file():
        ca = CertificateAuthority(
            x509.load_pem_x509_certificate(files.ca_cert.read_bytes()),
            _load_ec_key(files.ca_key.read_bytes()),
        )
    else:
        ca = new_ca()
        _write_private(files.ca_key, _pkcs8(ca.key))
        files.ca_cert.write_bytes(ca.cert_pem())
        files.server_keystore.unlink(missing_ok=True)  # signed by a CA that is gone
    if not files.server_keystore.is_file():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = server_certificate(ca, key)
        pem = _pkcs8(key) + cert.public_bytes(serialization.Encoding.PEM) + ca.cert_pem()
        _write_private(files.server_keystore, pem)
    return files


def _load_ec_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the stack's CA key is not an EC key")
    return key
