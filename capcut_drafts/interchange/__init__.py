"""Timelines in and out of other editors: OpenTimelineIO (POST /export_otio, GET /drafts/<id>.otio,
POST /import_otio). `otio` maps the draft document to an OTIO timeline, `otio_checks` reads and
checks an OTIO document a client sent, `otio_import` turns its timeline into add_* operations, and
`service` holds the request models and handlers."""
