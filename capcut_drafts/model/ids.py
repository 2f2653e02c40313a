"""Identifier styles: upstream draft ids, and GUIDs written the way the apps write them."""
import hashlib
import random
import secrets
import time
import uuid


def new_draft_id() -> str:
    """Upstream's format: dfd_cat_<unix seconds>_<8 hex>."""
    return f"dfd_cat_{int(time.time())}_{secrets.token_hex(4)}"


def app_guid(value: uuid.UUID) -> str:
    """Windows-app style: upper case with the third group lower case (4E96246F-6E19-4a5c-…)."""
    parts = str(value).upper().split("-")
    parts[2] = parts[2].lower()
    return "-".join(parts)


def random_uuid() -> uuid.UUID:
    """A random (v4) UUID from `random`, not from the OS: no system call, so a request thread
    does not give up the GIL and wait for it again (under load that wait, not the call, is the
    cost). Ids only need to be unique: `random` is seeded from the OS at start and again in every
    forked process, and 122 random bits do not collide."""
    return uuid.UUID(int=random.getrandbits(128), version=4)


def new_id() -> str:
    return app_guid(random_uuid())


def derived_guid_hex(namespace: uuid.UUID, seed: str, name: str) -> str:
    """32 hex digits of uuid5(namespace, f"{seed}:{name}") with the version nibble of a random (v4)
    GUID: the same inputs always give the same id. The apps write random v4 GUIDs; keeping
    uuid5's '5' would itself be a fingerprint. (Hashed directly: 5x faster than uuid objects.)"""
    digest = bytearray(hashlib.sha1(namespace.bytes + f"{seed}:{name}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40          # version 4
    digest[8] = (digest[8] & 0x3F) | 0x80          # RFC 4122 variant
    return digest.hex()


def id_for(name: str) -> str:
    """A stable id for a name (e.g. a media file name): same input, same id."""
    return app_guid(uuid.uuid3(uuid.NAMESPACE_DNS, name))


def url_digest(url: str) -> str:
    """First 16 hex digits of SHA-256 of the URL (upstream's media file name stem)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
