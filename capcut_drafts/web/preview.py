"""The preview page of a draft (GET /drafts/<id>/preview): its timeline drawn as tracks and
segments, thumbnails from still frames, the build warnings, a Render button that makes a local
MP4 and plays it, and the zip download.

Plain HTML, CSS and JavaScript in one answer: no framework, nothing loaded from elsewhere, so it
works offline. Every string from the draft is escaped with html.escape; the data the script needs
sits in a JSON block whose `<`, `>` and `&` are escaped, so no text can end the script early.
The page calls the draft-scoped routes (/drafts/<id>/generate_video, /task_status, frame.png) with
its own query string, so with API keys the signed link that opened the page opens those too.
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote, unquote, urlsplit

from capcut_drafts.model.timeline import Draft, Segment, Track
from capcut_drafts.model.timing import track_timings

KINDS = ("video", "audio", "text", "effect", "filter", "sticker")
RESOLUTIONS = ("480P", "720P", "1080P")       # offered by the page; 480P is the default
THUMB_WIDTH = 160
LABEL_CHARS = 120                             # longer labels are cut (the block shows one line)


@dataclass(frozen=True)
class PreviewSegment:
    """One block of the timeline. `end_s` is None while the clip's length is unknown (its media
    is probed at save or render), and the page shows "?" for it."""
    id: str
    label: str
    start_s: float
    end_s: float | None


@dataclass(frozen=True)
class PreviewTrack:
    name: str
    kind: str                                 # one of KINDS
    segments: list[PreviewSegment]


@dataclass(frozen=True)
class PreviewView:
    """What the preview page shows of a draft; tracks in display order (top row first)."""
    profile: str
    width: int
    height: int
    duration_s: float
    tracks: list[PreviewTrack]
    warnings: list[str]
    zip_url: str                              # "" when the draft is not saved


# -- from the draft document ------------------------------------------------------------------

def preview_view(draft: Draft, zip_url: str, warnings: list[str]) -> PreviewView:
    """The view of `draft` with the timing the saved draft gets (capcut_drafts/model/timing.py):
    open clips run to their media's end when its length is known; clips that would overlap once
    resolved are left out, as in the draft. `warnings` come first; the timing warnings that are
    not among them follow."""
    found: list[str] = []
    tracks: list[PreviewTrack] = []
    end_us = 0
    for track in sorted(draft.tracks, key=lambda t: (t.kind == "audio", -t.layer)):
        segments = []
        for cut in track_timings(draft, track, found):
            seg = cut.segment
            material = draft.materials.get(seg.material_id or "")
            unknown = seg.is_open and (material is None or material.duration_us is None)
            end_us = max(end_us, cut.target.end_us)
            segments.append(PreviewSegment(seg.id, _label(draft, track, seg), cut.target.start_us / 1e6,
                                           None if unknown else cut.target.end_us / 1e6))
        tracks.append(PreviewTrack(track.name, track.kind, segments))
    merged = list(dict.fromkeys([*warnings, *found]))
    return PreviewView(draft.profile, draft.canvas.width, draft.canvas.height, end_us / 1e6, tracks, merged,
                       zip_url)


def _label(draft: Draft, track: Track, seg: Segment) -> str:
    """The text of a text, the file name in a clip's URL, the name of an effect or filter, the sticker id."""
    text = seg.text_content()
    if text is not None:
        label = text
    elif seg.sticker_id is not None:
        label = f"sticker {seg.sticker_id}"
    elif seg.effect is not None and track.kind in ("effect", "filter"):
        label = seg.effect.name
    elif (material := draft.materials.get(seg.material_id or "")) is not None:
        label = PurePosixPath(unquote(urlsplit(material.url).path)).name or material.file_name
    else:
        label = track.kind
    label = " ".join(label.split())
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


# -- the page ---------------------------------------------------------------------------------

_STYLE = """
[hidden]{display:none!important}
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;line-height:1.4}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
nav a{margin-right:1rem}code{background:#f3f3f3;padding:.1rem .3rem}
.legend span{display:inline-block;padding:0 .5rem;margin-right:.3rem;border-radius:3px;color:#fff;font-size:.8rem}
.timeline{overflow-x:auto;border:1px solid #ccc;border-radius:4px;background:#fafafa}
.rows{min-width:100%}
.row{display:grid;grid-template-columns:10rem 1fr;border-top:1px solid #e4e4e4}
.row:first-child{border-top:0}
.name{position:sticky;left:0;z-index:2;background:#fff;padding:.3rem .5rem;font-size:.85rem;
 border-right:1px solid #ddd;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.name small{display:block;color:#777}
.lane{position:relative;height:3rem}
.row.video .lane{height:5.5rem}
.ruler .lane{height:1.5rem}
.tick{position:absolute;top:0;bottom:0;border-left:1px solid #bbb;padding-left:2px;font-size:.7rem;color:#666}
.seg{position:absolute;top:.25rem;bottom:.25rem;min-width:3px;box-sizing:border-box;border-radius:3px;
 padding:.1rem .3rem;overflow:hidden;color:#fff;font-size:.75rem;white-space:nowrap;border:1px solid rgba(0,0,0,.25)}
.seg .label{display:block;overflow:hidden;text-overflow:ellipsis;font-weight:600}
.seg .time{display:block;opacity:.85}
.seg img{display:block;height:2.6rem;max-width:100%;object-fit:cover;border-radius:2px;background:#0003}
.seg.open{border-style:dashed;border-right-width:3px}
.video{--c:#3b6fd1}.audio{--c:#2e9a60}.text{--c:#c98a12}.effect{--c:#8e44ad}.filter{--c:#c2417a}.sticker{--c:#d35400}
.seg,.legend span{background:var(--c,#777)}
.empty{padding:1rem;color:#666}
.render{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
progress{width:16rem}
#render-error{color:#b00020}
video{display:block;max-width:100%;max-height:70vh;margin-top:.8rem;background:#000}
"""

# The Render button: POST generate_video, poll task_status every 500 ms, then play the MP4.
_SCRIPT = """
(() => {
  const cfg = JSON.parse(document.getElementById('preview-data').textContent);
  const $ = (id) => document.getElementById(id);
  const button = $('render-button'), select = $('render-resolution'), bar = $('render-progress');
  const state = $('render-status'), error = $('render-error'), video = $('render-video');
  const notes = $('render-warnings');
  const withQuery = (url) => cfg.query ? url + (url.includes('?') ? '&' : '?') + cfg.query : url;

  for (const img of document.querySelectorAll('img.thumb')) {     // no still: no broken icon
    const hide = () => { img.hidden = true; };
    img.addEventListener('error', hide);
    if (img.complete && img.naturalWidth === 0) hide();
  }

  async function call(url, options) {
    const resp = await fetch(withQuery(url), options);
    let reply;
    try { reply = await resp.json(); } catch (e) { throw new Error('HTTP ' + resp.status + ' from ' + url); }
    if (!reply.success) throw new Error(reply.error || 'HTTP ' + resp.status);
    return reply.output;
  }

  function finish(message) {
    button.disabled = false;
    if (message) { error.textContent = message; error.hidden = false; state.textContent = 'Failed'; }
  }

  function show(task) {
    bar.value = task.progress || 0;
    state.textContent = task.status + ' ' + (task.progress || 0) + ' %';
    notes.replaceChildren(...(task.warnings || []).map((w) => {
      const li = document.createElement('li'); li.textContent = w; return li;
    }));
    notes.hidden = !notes.children.length;
  }

  async function poll(taskId) {
    let task;
    try {
      task = await call(cfg.status + '?task_id=' + encodeURIComponent(taskId));
    } catch (e) { return finish(e.message); }
    show(task);
    if (task.status === 'SUCCESS') {
      video.src = task.result;
      video.hidden = false;
      finish('');
    } else if (task.status === 'FAILED') {
      finish(task.error || 'The render failed.');
    } else {
      setTimeout(() => poll(taskId), 500);
    }
  }

  button.addEventListener('click', async () => {
    button.disabled = true;
    error.hidden = true;
    bar.value = 0;
    state.textContent = 'Starting…';
    try {
      const task = await call(cfg.generate, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                            body: JSON.stringify({resolution: select.value})});
      show({status: task.status, progress: 0, warnings: []});
      poll(task.task_id);
    } catch (e) { finish(e.message); }
  });
})();
"""


def _seconds(value: float) -> str:
    return f"{round(value, 2):g}"


def _script_json(data: object) -> str:
    """JSON safe inside <script>: no `</script>`, `<!--` or entity can appear in it."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}" if query else url


def _tick_step(span_s: float, width_px: int) -> float:
    """The ruler step: the smallest of 1-2-5 steps that keeps ticks at least 80 px apart."""
    wanted = span_s * 80 / width_px
    for exponent in range(-1, 6):
        for base in (1, 2, 5):
            step = base * 10.0 ** exponent
            if step >= wanted:
                return step
    return 100_000.0


def _timeline(base: str, view: PreviewView, query: str) -> str:
    span = max([view.duration_s, 1.0] + [s.start_s + 0.5 for t in view.tracks for s in t.segments])
    width_px = int(min(max(span * 120, 800), 24_000))
    step = _tick_step(span, width_px)
    ticks = "".join(f'<span class="tick" style="left:{100 * i * step / span:.4f}%">{_seconds(i * step)} s</span>'
                    for i in range(math.floor(span / step) + 1))
    rows = [f'<div class="row ruler"><div class="name">time</div><div class="lane">{ticks}</div></div>']
    for track in view.tracks:
        kind = track.kind if track.kind in KINDS else "other"
        blocks = "".join(_block(base, track, seg, span, query) for seg in track.segments)
        rows.append(f'<div class="row {kind}" data-track="{html.escape(track.name)}">'
                    f'<div class="name" title="{html.escape(track.name)}">{html.escape(track.name)}'
                    f'<small>{html.escape(track.kind)} · {len(track.segments)}</small></div>'
                    f'<div class="lane">{blocks}</div></div>')
    if not view.tracks:
        rows.append('<p class="empty">No tracks yet: add a video, image, audio or text to this draft.</p>')
    return (f'<div class="timeline"><div class="rows" style="width:{width_px}px">'
            + "\n".join(rows) + "</div></div>")


def _block(base: str, track: PreviewTrack, seg: PreviewSegment, span: float, query: str) -> str:
    known = seg.end_s is not None
    end = seg.end_s if seg.end_s is not None else seg.start_s
    times = f"{_seconds(seg.start_s)}–{_seconds(end) if known else '?'} s"
    left, width = 100 * seg.start_s / span, 100 * max(end - seg.start_s, 0) / span
    thumb = ""
    if track.kind == "video":
        middle = (seg.start_s + end) / 2
        src = _with_query(f"{base}/frame.png?t={_seconds(middle)}&width={THUMB_WIDTH}", query)
        thumb = f'<img class="thumb" loading="lazy" alt="" src="{html.escape(src)}">'
    style = f"left:{left:.4f}%;width:{width:.4f}%" + ("" if known else ";min-width:2.5rem")
    return (f'<div class="seg {html.escape(track.kind)}{"" if known else " open"}" '
            f'data-segment-id="{html.escape(seg.id)}" style="{style}" '
            f'title="{html.escape(seg.label)} ({times})">{thumb}'
            f'<span class="label">{html.escape(seg.label)}</span><span class="time">{times}</span></div>')


def preview_page(draft_id: str, view: PreviewView, query: str) -> str:
    """The whole page. `query` is the request's query string ("" or "?expires=…&sig=…"); it is
    appended to every link and call into the draft's paths."""
    query = query.lstrip("?")
    base = f"/drafts/{quote(draft_id, safe='')}"
    name = html.escape(draft_id)
    count = sum(len(t.segments) for t in view.tracks)
    legend = "".join(f'<span class="{k}">{k}</span>' for k in KINDS)
    warnings = ("<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in view.warnings) + "</ul>"
                if view.warnings else "<p>None.</p>")
    download = (f'<a id="zip-link" href="{html.escape(view.zip_url)}">Download the saved draft (zip)</a>'
                if view.zip_url else "<span>Not saved yet: <code>POST /save_draft</code> makes the zip.</span>")
    options = "".join(f'<option value="{r}"{" selected" if r == "480P" else ""}>{r}</option>'
                      for r in RESOLUTIONS)
    data = _script_json({"generate": f"{base}/generate_video", "status": f"{base}/task_status", "query": query})
    body = f"""<h1>Preview of draft {name}</h1>
<p id="summary">{view.width}×{view.height}, {_seconds(view.duration_s)} s long, profile
<code>{html.escape(view.profile)}</code>, {len(view.tracks)} track(s), {count} segment(s).</p>
<nav><a id="draft-link" href="{html.escape(_with_query(base, query))}">Back to the draft page</a>{download}</nav>
<h2>Timeline</h2>
<p class="legend">{legend}</p>
{_timeline(base, view, query)}
<h2>Warnings</h2>
<section id="warnings">{warnings}</section>
<h2>Render</h2>
<div class="render">
<label>Resolution <select id="render-resolution">{options}</select></label>
<button id="render-button" type="button">Render</button>
<progress id="render-progress" max="100" value="0"></progress>
<span id="render-status" role="status">Not rendered yet.</span>
</div>
<p id="render-error" role="alert" hidden></p>
<ul id="render-warnings" hidden></ul>
<video id="render-video" controls playsinline preload="metadata" hidden></video>
<script type="application/json" id="preview-data">{data}</script>
<script>{_SCRIPT}</script>"""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
            f"<title>Preview of {name}</title>\n<style>{_STYLE}</style></head>\n<body>{body}\n</body></html>")
