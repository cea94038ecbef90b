"""A software passkey authenticator: real keys and real signatures, for the tests.

It answers the options the site hands out as a browser and a platform
authenticator would (`navigator.credentials.create()` and `.get()`, in their
JSON form), with an ECDSA P-256 key per credential (`cryptography`) and CBOR
from `cbor2`. Each answer can be bent the way an attacker or a broken
authenticator would bend it: another origin or RP ID, no user verification, a
counter that goes back, another user handle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

# WebAuthn's authenticator data flags
USER_PRESENT = 0x01
USER_VERIFIED = 0x04
BACKUP_ELIGIBLE = 0x08
BACKED_UP = 0x10
ATTESTED_DATA = 0x40
AAGUID = bytes.fromhex("00112233445566778899aabbccddeeff")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One passkey the authenticator keeps: its id, key, site, account and counter."""

    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class Authenticator:
    """A platform authenticator with a browser in front of it, at `origin`.

    `counting`: whether it keeps a signature counter (synced passkeys keep none:
    their counter stays 0). `synced`: whether its passkeys are backed up.
    """

    origin: str = "http://localhost"
    counting: bool = True
    synced: bool = True
    credentials: list[Credential] = field(default_factory=list)

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        challenge: str | None = None,
    ) -> str:
        """Make a passkey for the creation options; return the answer as JSON."""
        rp = rp_id or options["rp"]["id"]
        credential = Credential(
            id=os.urandom(32),
            key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp,
            user_handle=unb64url(options["user"]["id"]),
        )
        numbers = credential.key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(user_verified) | ATTESTED_DATA])
            + struct.pack(">I", 0)
            + AAGUID
            + struct.pack(">H", len(credential.id))
            + credential.id
            + cose_key
        )
        client_data = self._client_data(
            "webauthn.create", challenge or options["challenge"], origin
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials.append(credential)
        return json.dumps(
            {
                "id": b64url(credential.id),
                "rawId": b64url(credential.id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal", "hybrid"],
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )

    def get(
        self,
        options: dict[str, Any],
        *,
        credential: Credential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
        without_user_handle: bool = False,
        challenge: str | None = None,
    ) -> str:
        """Sign the request options with a passkey; return the answer as JSON.

        The passkey is `credential`, else the first allowed one, else the first.
        `user_handle` replaces the passkey's own (it is not signed); with
        `without_user_handle` the answer names none, as a passkey that is not
        discoverable may answer.
        """
        if credential is None:
            allowed = {unb64url(c["id"]) for c in options.get("allowCredentials", [])}
            credential = next(
                c for c in self.credentials if not allowed or c.id in allowed
            )
        if sign_count is None:
            if self.counting:
                credential.sign_count += 1
            sign_count = credential.sign_count
        rp = rp_id or credential.rp_id
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(user_verified)])
            + struct.pack(">I", sign_count)
        )
        client_data = self._client_data(
            "webauthn.get", challenge or options["challenge"], origin
        )
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        handle = credential.user_handle if user_handle is None else user_handle
        response = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
        }
        if not without_user_handle:
            response["userHandle"] = b64url(handle)
        return json.dumps(
            {
                "id": b64url(credential.id),
                "rawId": b64url(credential.id),
                "type": "public-key",
                "response": response,
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )

    def _flags(self, user_verified: bool) -> int:
        flags = USER_PRESENT
        if user_verified:
            flags |= USER_VERIFIED
        if self.synced:
            flags |= BACKUP_ELIGIBLE | BACKED_UP
        return flags

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()
