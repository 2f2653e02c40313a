"""POST /query_script: the draft's app JSON as a string, as upstream returns it.

Reading never changes the draft (upstream's forced update mutated it) and never touches the
network: `force_update` is accepted for compatibility and uses what is already known about the
media (the save pipeline probes it)."""
from __future__ import annotations

from . import profiles
from .builder import build
from .drafts import Context, QueryScriptRequest, read_existing
from .schema import Reply


def query_script(ctx: Context, req: QueryScriptRequest) -> Reply:
    def render(draft):
        built = build(draft)
        return built.dumps(profiles.resolve(draft.profile)), built.warnings

    return Reply(*read_existing(ctx, req.draft_id, render))
