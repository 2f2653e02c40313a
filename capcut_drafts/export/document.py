"""The app JSON of any draft: built from the document (capcut_drafts/export/builder.py), or, for a
draft imported from an app, the app's own JSON with the document's changes over it
(capcut_drafts/export/imported.py). Saves, renders' previews, /query_script and the draft page
all read drafts through `build`."""
from __future__ import annotations

from capcut_drafts.export import builder, imported
from capcut_drafts.export.builder import Built
from capcut_drafts.model.timeline import Draft


def build(draft: Draft, draft_folder: str | None = None) -> Built:
    """`draft_folder` (the client's drafts folder) overrides the one sent with the add calls."""
    if draft.base is not None:
        return imported.rebuild(draft, draft_folder)
    return builder.build(draft, draft_folder)
