"""The draft model: the timeline document, its operations, app profiles, ids and the effect catalogue.
No Flask and no I/O: a document is plain data, changed only by applying operations."""
