"""TLS material for the sandbox: a CA, the API server's serving cert, client certs, SA keys.

Everything is generated fresh per sandbox into its state folder; nothing here is secret
beyond the life of one local cluster.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=30)


def _key() -> ec.EllipticCurvePrivateKey:
    # P-256 keys are generated in microseconds; RSA-2048 would cost ~50 ms each.
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


class CertificateAuthority:
    """A throwaway CA that signs the serving cert and client identities."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.cert_path = directory / "ca.crt"
        self.key_path = directory / "ca.key"
        if self.cert_path.exists():
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):  # we wrote it; anything else is not our CA
                raise ValueError(f"{self.key_path} is not the sandbox CA's EC key; delete {directory} to start over")
            self._key = key
            self._cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            return
        now = dt.datetime.now(dt.UTC)
        self._key = _key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emqx-console-sandbox-ca")])
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
            .sign(self._key, hashes.SHA256())
        )
        _write_key(self.key_path, self._key)
        _write_cert(self.cert_path, self._cert)

    def _issue(
        self,
        stem: str,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName] | None = None,
    ) -> CertPair:
        now = dt.datetime.now(dt.UTC)
        key = _key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        pair = CertPair(self.directory / f"{stem}.crt", self.directory / f"{stem}.key")
        _write_key(pair.key, key)
        _write_cert(pair.cert, cert)
        return pair

    def serving_cert(self) -> CertPair:
        """The API server's certificate, valid for the loopback names it is reached by."""
        sans: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
        return self._issue("apiserver", subject, ExtendedKeyUsageOID.SERVER_AUTH, sans)

    def client_cert(self, user: str, groups: tuple[str, ...] = ()) -> CertPair:
        """A client identity: Kubernetes reads the user from CN and the groups from O."""
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, user)]
        attrs += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        stem = "client-" + "".join(c if c.isalnum() else "_" for c in user)
        return self._issue(stem, x509.Name(attrs), ExtendedKeyUsageOID.CLIENT_AUTH)


def service_account_keys(directory: Path) -> CertPair:
    """The key pair kube-apiserver signs and verifies service-account tokens with.

    `cert` here is the PEM public key (the API server accepts a public key file).
    """
    pair = CertPair(directory / "sa.pub", directory / "sa.key")
    if not pair.key.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_key(pair.key, key)
        pair.cert.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return pair
