"""Where saved draft zips are published: the service itself, Alibaba OSS or S3.

    publisher = open_publisher(settings, base_url=base_url)
    if publisher.uploads:                      # cloud: the zip file must exist first
        delivery.make_zip(folder, zip_path)
    published = publisher.publish(zip_path, f"{draft_id}.zip", on_progress=report)
    published.url                              # -> the task's draft_url

Choice (upstream semantics): with `is_upload_draft` false the draft is always served locally,
whatever `storage` says. With it true, `storage` picks `oss` or `s3`; an upstream config that
sets `is_upload_draft` and `oss_config` but no `storage` uploads to OSS, as upstream did.
"""
from __future__ import annotations

import logging
from typing import Any

from capcut_drafts.storage.base import MAX_URL_LIFETIME, Published, Publisher, PublishError
from capcut_drafts.storage.local import LocalPublisher
from capcut_drafts.storage.multipart import UploadOptions

__all__ = ["open_publisher", "backend_name", "Publisher", "Published", "PublishError",
           "UploadOptions", "MAX_URL_LIFETIME"]
log = logging.getLogger("capcut.storage")


def backend_name(settings: Any) -> str:
    """`local`, `oss` or `s3`: the backend these settings publish to."""
    if not getattr(settings, "is_upload_draft", False):
        return "local"
    storage = getattr(settings, "storage", "local") or "local"
    if storage == "local" and getattr(settings, "oss_config", None):
        return "oss"                 # upstream config: is_upload_draft + oss_config, no `storage`
    return storage


def open_publisher(settings: Any, *, base_url: str = "") -> Publisher:
    """The publisher the settings choose. `base_url` is the service's URL as the save request
    saw it (only the local backend uses it). Raises PublishError("ConfigError") when the
    chosen backend's configuration is incomplete, before anything is zipped or sent."""
    name = backend_name(settings)
    if name == "local":
        return LocalPublisher.from_settings(settings, base_url)
    if name == "oss":
        from capcut_drafts.storage.oss import OssPublisher
        config = getattr(settings, "oss_config", None) or {}
        return OssPublisher(config, UploadOptions.from_settings(settings, config))
    if name == "s3":
        from capcut_drafts.storage.s3 import S3Publisher
        config = getattr(settings, "s3_config", None) or {}
        return S3Publisher(config, UploadOptions.from_settings(settings, config))
    raise PublishError("ConfigError", f"unknown storage {name!r}: use local, oss or s3")
