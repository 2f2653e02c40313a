"""POST /query_script: the draft's app JSON as a string, as upstream returns it.

Reading never changes the draft (upstream's forced update mutated it) and never touches the
network: `force_update` is accepted for compatibility and uses what is already known about the
media (the save pipeline probes it)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from capcut_drafts.export.document import build
from capcut_drafts.model import profiles
from capcut_drafts.routes.drafts import QueryScriptRequest, read_existing
from capcut_drafts.routes.schema import Reply

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context


def query_script(ctx: Context, req: QueryScriptRequest) -> Reply:
    def render(draft):
        built = build(draft)
        return built.dumps(profiles.resolve(draft.profile)), built.warnings

    return Reply(*read_existing(ctx, req.draft_id, render))
