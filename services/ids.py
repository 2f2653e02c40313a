"""Identifier styles: upstream draft ids, and GUIDs written the way the apps write them."""
import hashlib
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


def new_id() -> str:
    return app_guid(uuid.uuid4())


def id_for(name: str) -> str:
    """A stable id for a name (e.g. a media file name): same input, same id."""
    return app_guid(uuid.uuid3(uuid.NAMESPACE_DNS, name))


def url_digest(url: str) -> str:
    """First 16 hex digits of SHA-256 of the URL (upstream's media file name stem)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
