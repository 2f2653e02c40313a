"""Local rendering of a draft document: one still frame (PNG) or an MP4 with sound.

`engine` is the public API (render_still, render_video, output_size); `scene` resolves the
document into layers, `frames` composites them, `text` draws texts, `audio` mixes the sound and
`encode` writes the MP4 — all with PyAV's bundled FFmpeg, Pillow and numpy, no external programs.
"""
