"""Every POST route of the service, one record each: the only place a route is declared.

A `Route` holds what each door needs: the request model and service function (`dispatch`
runs them), upstream's error template, the OpenAPI summary and example (`capcut_drafts/web/openapi.py`,
and from it the Postman collection), and the longer text plus read-only flag of its MCP tool
(`mcp_server.py`). The Flask app (`app.py`) registers one view per record. `ROUTES` keeps
upstream's order, which is the order of the OpenAPI paths and of the MCP tools.

To add a POST route: write the request model and service function in its feature module, then
add one `Route` to `ROUTES` below. The GET catalogue routes (`/get_*_types`) are a separate
table, `catalog.ROUTES` (path -> catalogue category): they share one handler and derive their
texts from the category, so a record each would only repeat it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any

from capcut_drafts.editing import batch, manage, segments, templates, timeline
from capcut_drafts.editing.pipeline import Planner
from capcut_drafts.imports import service as imports
from capcut_drafts.interchange import service as interchange
from capcut_drafts.routes import (
    audio,
    drafts,
    duration,
    effect,
    image,
    keyframe,
    query,
    render,
    save,
    sticker,
    subtitle,
    text,
    video,
)
from capcut_drafts.routes.schema import RequestModel

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

__all__ = ["Route", "ROUTES", "BY_PATH", "route"]


@dataclass(frozen=True)
class Route:
    """One POST route.

    `error_template` wraps the message of the route's own failures as upstream words them
    (`"{}"` = the bare message). `summary` is the OpenAPI one-liner; `description` is the
    tool description an MCP client shows a model choosing a tool (the server appends the
    required keys and catalogue pointers). `example` is a body the route accepts once its
    `draft_id`/`task_id` names a real draft (a test posts each one). `read_only` routes never
    change a draft. An editing route has a `plan` instead of a `handler`: editing/pipeline.py runs
    it (segment ids in the reply, `dry_run`), and /batch may hold it.
    """
    path: str
    model: type[RequestModel]
    handler: Callable[[Context, Any], Any] | None     # None for an editing route: its `plan` is run
    error_template: str
    summary: str
    example: Mapping[str, Any]
    description: str
    read_only: bool = False
    destructive: bool = False       # destroys what /undo cannot bring back (MCP clients ask first)
    plan: Planner | None = None     # an editing route's planner (editing/pipeline.py runs it)
    # Runs a multipart/form-data request instead of `handler`, with the form's fields (it parses
    # them) and its `file` field's stream (POST /import_draft).
    upload: Callable[[Context, dict[str, Any], IO[bytes]], Any] | None = None

    def call(self, ctx: Context, req: Any) -> Any:
        """Run the handler of a route that is not an editing route."""
        if self.handler is None:
            raise TypeError(f"{self.path} is an editing route: run its plan (editing/pipeline.py run_edit)")
        return self.handler(ctx, req)

    @property
    def name(self) -> str:
        """The path without its slash: Flask endpoint, OpenAPI operationId and MCP tool name."""
        return self.path.strip("/")


EXAMPLE_ID = "dfd_cat_1764300000_1a2b3c4d"           # the shape of a real id; names no draft
SEGMENT_ID = "3F2C9A5E-8B1D-4c7e-9A0B-1C2D3E4F5A6B"    # the shape of a segment id
VIDEO_URL = "https://example.com/clip.mp4"
SRT_EXAMPLE = "1\n00:00:00,000 --> 00:00:02,500\nHello\n\n2\n00:00:02,500 --> 00:00:05,000\nWorld\n"
DRAFTS_FOLDER = "C:\\Users\\me\\AppData\\Local\\CapCut\\User Data\\Projects\\com.lveditor.draft"
_RT = '{"OTIO_SCHEMA":"RationalTime.1","rate":30,"value":%d}'
OTIO_EXAMPLE = (      # a timeline of one 3 s clip, as another editor writes it (the .otio file's text)
    '{"OTIO_SCHEMA":"Timeline.1","name":"Promo","tracks":{"OTIO_SCHEMA":"Stack.1","children":[{"OTIO_SCHEMA":'
    '"Track.1","name":"V1","kind":"Video","children":[{"OTIO_SCHEMA":"Clip.1","name":"clip","media_reference":'
    '{"OTIO_SCHEMA":"ExternalReference.1","target_url":"https://example.com/clip.mp4"},"source_range":'
    '{"OTIO_SCHEMA":"TimeRange.1","start_time":' + _RT % 0 + ',"duration":' + _RT % 90 + '}}]}]}}')

ROUTES: tuple[Route, ...] = (
    Route(
        "/create_draft", drafts.CreateDraftRequest, drafts.create_draft,
        "Error occurred while creating draft: {}",
        summary="Create an empty draft",
        example={"width": 1080, "height": 1920},
        description=(
            "Create an empty draft (canvas, fps, app profile); pass output.draft_id to every later call. "
            "output: {draft_id, draft_url}.")),
    Route(
        "/add_video", video.AddVideoRequest, None,
        "Error occurred while processing video: {}",
        summary="Add a video clip (start/end cut the source; target_start places it)",
        example={"draft_id": EXAMPLE_ID, "video_url": VIDEO_URL, "start": 0, "end": 5, "target_start": 0,
                 "track_name": "video_main", "transition": "Dissolve", "transition_duration": 1.0},
        description=(
            "Put a cut of a video file (start..end of the source) at target_start on a video track. Clips on "
            "one track must not overlap."),
        plan=video.plan),
    Route(
        "/add_audio", audio.AddAudioRequest, None,
        "Error occurred while processing audio: {}",
        summary="Add an audio clip, optionally with a voice effect",
        example={"draft_id": EXAMPLE_ID, "audio_url": "https://example.com/music.mp3", "start": 0, "end": 8,
                 "volume": 0.6, "effect_type": "Big_House", "effect_params": [50]},
        description=(
            "Put a cut of an audio file at target_start on an audio track, optionally with a voice effect."),
        plan=audio.plan),
    Route(
        "/add_image", image.AddImageRequest, None,
        "Error occurred while processing image: {}",
        summary="Add an image from start to end on the timeline",
        example={"draft_id": EXAMPLE_ID, "image_url": "https://example.com/photo.jpg", "start": 0, "end": 3,
                 "intro_animation": "Fade_In"},
        description=(
            "Show a still image (or GIF) on a video track from start to end on the timeline."),
        plan=image.plan),
    Route(
        "/add_text", text.AddTextRequest, None,
        "Error occurred while processing text: {}",
        summary="Add styled text",
        example={"draft_id": EXAMPLE_ID, "text": "My Title", "start": 0, "end": 3, "font_color": "#FFD700",
                 "font_size": 12, "transform_y": 0.6,
                 "text_styles": [{"start": 0, "end": 2, "style": {"color": "#FF0000", "bold": True}}]},
        description=(
            "Add a styled text from start to end on a text track; text_styles style character ranges. "
            "Upstream aliases color/size/alpha work too."),
        plan=text.plan),
    Route(
        "/add_subtitle", subtitle.AddSubtitleRequest, None,
        "Error occurred while processing subtitle: {}",
        summary="Add every cue of an SRT file (text or http(s) URL; or srt_url)",
        example={"draft_id": EXAMPLE_ID, "srt": SRT_EXAMPLE, "font_size": 6, "border_width": 20},
        description=(
            "Add every cue of an SRT file as text on a subtitle track; the style applies to every cue."),
        plan=subtitle.plan),
    Route(
        "/add_effect", effect.AddEffectRequest, None,
        "Error occurred while adding effect: {} ",
        summary="Add a scene or character effect over a time range",
        example={"draft_id": EXAMPLE_ID, "effect_type": "Blur", "effect_category": "scene", "start": 0,
                 "end": 2, "params": [40]},
        description=(
            "Add a video effect over the whole picture from start to end on an effect track."),
        plan=effect.plan_effect),
    Route(
        "/add_filter", effect.AddFilterRequest, None,
        "Error occurred while adding filter: {} ",
        summary="Add a filter over a time range",
        example={"draft_id": EXAMPLE_ID, "filter_type": "亮肤", "filter_intensity": 60, "start": 0, "end": 5},
        description=(
            "Add a colour filter over the whole picture from start to end on a filter track."),
        plan=effect.plan_filter),
    Route(
        "/add_sticker", sticker.AddStickerRequest, None,
        "Error occurred while adding sticker: {} ",
        summary="Add a sticker by resource id",
        example={"draft_id": EXAMPLE_ID, "sticker_id": "7107529669750066445", "start": 0, "end": 5},
        description=(
            "Add a CapCut/JianYing library sticker by resource id from start to end."),
        plan=sticker.plan),
    Route(
        "/add_video_keyframe", keyframe.AddKeyframeRequest, None,
        "Error occurred while adding keyframe: {}",
        summary="Add keyframes at absolute timeline times (single or batch)",
        example={"draft_id": EXAMPLE_ID, "track_name": "video_main", "property_types": ["alpha", "alpha"],
                 "times": [0, 1], "values": ["0", "1"]},
        description=(
            "Keyframes at timeline times on the clips of an existing track: one (property_type, time, value) or "
            "a batch (equal-length lists). output: {draft_id, draft_url, track_name, segment_ids (the clips "
            "they fall on), added_keyframes_count?}."),
        plan=keyframe.plan),
    Route(
        "/query_script", drafts.QueryScriptRequest, query.query_script, "{}",
        summary="The draft JSON as a string (read-only)",
        example={"draft_id": EXAMPLE_ID},
        description=(
            "Read a draft: output is its app JSON (draft_info.json) as a string, times in microseconds."),
        read_only=True),
    Route(
        "/generate_draft_url", drafts.DraftIdRequest, drafts.generate_draft_url, "{}",
        summary="The draft's informational link",
        example={"draft_id": EXAMPLE_ID},
        description="The informational link of a draft. output: {draft_url}.",
        read_only=True),
    Route(
        "/save_draft", save.SaveDraftRequest, save.save_draft, "{}",
        summary="Download media, write the draft folder, answer with its zip URL",
        example={"draft_id": EXAMPLE_ID, "draft_folder": DRAFTS_FOLDER,
                 "callback_url": "https://example.com/hooks/capcut-save"},
        description=(
            "Fetch the media, write the draft folder for the draft's app and zip it; waits unless async "
            "(then poll query_draft_status). output: {draft_url (the zip), task_id, status, download_page}.")),
    Route(
        "/query_draft_status", save.QueryStatusRequest, save.query_draft_status, "{}",
        summary="Progress and result of the latest save of a draft (task_id = draft_id; draft_id is an alias)",
        example={"task_id": EXAMPLE_ID},
        description=(
            "Progress of the latest save of a draft. output: {status (pending/processing/completed/failed), "
            "progress, message, draft_url, ...}."),
        read_only=True),
    Route(
        "/get_duration", duration.GetDurationRequest, duration.get_duration, "{}",
        summary="The duration of a media file in seconds",
        example={"media_url": VIDEO_URL},
        description=(
            "Download a video or audio file into the media cache and read its length: output {duration} in "
            "seconds. Later calls and saves with the same URL read the cached file."),
        read_only=True),
    Route(
        "/generate_video", render.GenerateVideoRequest, render.generate_video, "{}",
        summary="Render the draft to an MP4 here (answers a task_id at once; poll /task_status)",
        example={"draft_id": EXAMPLE_ID, "resolution": "720P", "framerate": "30"},
        description=(
            "Render the draft to an MP4 here; what cannot be drawn is listed in warnings. Answers at once: "
            "output {task_id, status}; poll task_status.")),
    Route(
        "/task_status", render.TaskStatusRequest, render.task_status, "{}",
        summary="Progress and result of a render",
        example={"task_id": "render-0123456789abcdef01234567"},
        description=(
            "Progress of a render started by generate_video. output: {status (PENDING/PROCESSING/SUCCESS/"
            "FAILED), progress 0-100, result (the MP4's URL once SUCCESS), error, warnings}."),
        read_only=True),
    Route(
        "/get_timeline", drafts.DraftIdRequest, timeline.get_timeline, "{}",
        summary="The draft as our own timeline in seconds: tracks, segments with ids and parameters, materials",
        example={"draft_id": EXAMPLE_ID},
        description=(
            "Read a draft as a timeline in seconds: tracks in render order, segments (id, kind, target/source, "
            "text, media_url, effects, params), materials, keyframes, undo/redo stacks."),
        read_only=True),
    Route(
        "/update_segment", segments.UpdateSegmentRequest, None, "{}",
        summary="Change parameters of a segment (same names as the route that added it)",
        example={"draft_id": EXAMPLE_ID, "segment_id": SEGMENT_ID, "text": "New title", "font_color": "#00FF00"},
        description=(
            "Change a segment: send segment_id and only the parameters to change, named as on the add_* route "
            "that made it. Checked like an add. output: {segment_id, track_name}."),
        plan=segments.plan_update),
    Route(
        "/move_segment", segments.MoveSegmentRequest, None, "{}",
        summary="Move a segment in time (target_start) and/or to another track",
        example={"draft_id": EXAMPLE_ID, "segment_id": SEGMENT_ID, "target_start": 4.0},
        description=(
            "Move a segment to target_start seconds and/or track_name; its keyframes move with it. "
            "output: {segment_id, track_name}."),
        plan=segments.plan_move),
    Route(
        "/remove_segment", segments.SegmentRequest, None, "{}",
        summary="Remove a segment (and its keyframes; its media and track when nothing else uses them)",
        example={"draft_id": EXAMPLE_ID, "segment_id": SEGMENT_ID},
        description="Remove a segment with its keyframes. output: {segment_id, track_name, removed}.",
        plan=segments.plan_remove),
    Route(
        "/undo", segments.UndoRequest, segments.undo, "{}",
        summary="Undo the draft's latest change (any worker or host sees it)",
        example={"draft_id": EXAMPLE_ID},
        description="Undo the draft's latest change. output: {undone: what it was, undo_left, redo_available}."),
    Route(
        "/redo", segments.UndoRequest, segments.redo, "{}",
        summary="Redo the change undone last (a new edit clears what can be redone)",
        example={"draft_id": EXAMPLE_ID},
        description="Redo the change undone last. output: {redone, redo_left, undo_available}."),
    Route(
        "/batch", batch.BatchRequest, lambda ctx, req: batch.run_batch(ctx, req, EDITING), "{}",
        summary="Several edits at once, all or none: one stored change, one undo",
        example={"draft_id": EXAMPLE_ID, "operations": [
            {"route": "/add_text", "body": {"text": "Title", "start": 0, "end": 2}},
            {"route": "/add_text", "body": {"text": "Subtitle", "start": 2, "end": 4}}]},
        description=(
            "Apply several editing calls atomically: operations [{route, body}] (add_*, update/move/remove_segment"
            "; /create_draft first when no draft_id). output: {draft_id, results: [envelope per operation]}.")),
    Route(
        "/list_drafts", manage.ListDraftsRequest, manage.list_drafts, "{}",
        summary="The drafts, most recently changed first, a page at a time (also GET /drafts)",
        example={"offset": 0, "limit": 20, "name": "promo"},
        description=(
            "List drafts, most recently changed first; name filters by part of the name. output: {drafts: "
            "[{draft_id, name, created, updated, duration, segments}], total, offset, limit}."),
        read_only=True),
    Route(
        "/delete_draft", manage.DraftRequest, manage.delete_draft, "{}",
        summary="Delete a draft for good, with its save and render tasks, saved folder, zip and renders",
        example={"draft_id": EXAMPLE_ID},
        description="Delete a draft for good (history, tasks, saved files, renders). output: {draft_id, deleted}.",
        destructive=True),
    Route(
        "/duplicate_draft", manage.DuplicateDraftRequest, manage.duplicate_draft, "{}",
        summary="Copy a draft as a new draft (new id, no undo history)",
        example={"draft_id": EXAMPLE_ID, "name": "Promo v2"},
        description="Copy a draft under a new draft_id, without undo history. output: {draft_id, draft_url, name}."),
    Route(
        "/rename_draft", manage.RenameDraftRequest, None, "{}",
        summary="Rename a draft (undoable; listings and their name filter show it)",
        example={"draft_id": EXAMPLE_ID, "name": "Summer promo"},
        description="Rename a draft (undoable). output: {draft_id, name}.",
        plan=manage.plan_rename),
    Route(
        "/render_template", templates.RenderTemplateRequest, templates.render_template, "{}",
        summary="A new draft from a template: {{name}} merge fields filled, texts and media replaced",
        example={"template_draft_id": EXAMPLE_ID, "merge": {"title": "Summer sale"}, "name": "Summer promo"},
        description=(
            "Copy a template draft as a new draft, filling its {{name}} fields (texts, media URLs, numbers) from "
            "merge and swapping texts/media by replace. output: {draft_id, draft_url, fields_used, fit, replaced, "
            "warnings}.")),
    Route(
        "/template_fields", templates.TemplateRequest, templates.template_fields, "{}",
        summary="The {{name}} merge fields of a template draft and where they occur (also GET /templates/<id>/fields)",
        example={"template_draft_id": EXAMPLE_ID},
        description=(
            "List a template draft's {{name}} merge fields. output: {fields: [{name, occurrences: "
            "[{segment_id, track_name, parameter}]}]}."),
        read_only=True),
    Route(
        "/import_draft", imports.ImportDraftRequest, imports.import_from_url, "{}",
        summary="A draft from a zip of a CapCut/JianYing draft folder (multipart field 'file', or draft_zip_url)",
        example={"draft_zip_url": "https://example.com/drafts/summer-promo.zip", "name": "Summer promo"},
        description=(
            "Import a zipped CapCut/JianYing draft folder as a new draft (a template for render_template's "
            "replace). output: {draft_id, draft_url, profile, tracks, segments, media_in_zip, warnings}."),
        upload=imports.import_upload),
    Route(
        "/export_otio", interchange.ExportOtioRequest, interchange.export_otio, "{}",
        summary="The draft as an OpenTimelineIO timeline (also GET /drafts/<id>.otio)",
        example={"draft_id": EXAMPLE_ID},
        description="Export a draft as OpenTimelineIO for other editors. output: {draft_id, otio (.otio JSON text)}.",
        read_only=True),
    Route(
        "/import_otio", interchange.ImportOtioRequest, interchange.import_otio, "{}",
        summary="A new draft from an OpenTimelineIO timeline (otio text or otio_url)",
        example={"otio": OTIO_EXAMPLE, "name": "Promo from Resolve"},
        description=(
            "Create a draft from an OpenTimelineIO timeline. output: {draft_id, draft_url, name, profile, tracks, "
            "segments, warnings (what was left out)}.")),
)


def _by_path(routes: Iterable[Route]) -> Mapping[str, Route]:
    """path -> record, refusing a path declared twice (the second would silently win)."""
    table: dict[str, Route] = {}
    for record in routes:
        if record.path in table:
            raise ValueError(f"route {record.path} is declared twice in capcut_drafts/api/registry.py")
        table[record.path] = record
    return MappingProxyType(table)


BY_PATH: Mapping[str, Route] = _by_path(ROUTES)
# The routes a /batch may hold: path -> (request model, planner).
EDITING: Mapping[str, tuple[type[RequestModel], Planner]] = MappingProxyType(
    {r.path: (r.model, r.plan) for r in ROUTES if r.plan is not None})


def route(path: str) -> Route:
    """The record of POST `path` (KeyError for a path that is not a POST route)."""
    return BY_PATH[path]
