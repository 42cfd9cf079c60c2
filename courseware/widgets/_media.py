"""Beyond words in a case: pictures, recordings, stage directions, all working offline.

Media files are embedded in the page (``data:`` addresses), so a case plays with no network; a
picture always has its alt text, a recording its transcript (shown under the player, not hidden),
and stage directions are set apart from speech and announced as such to screen readers.
"""

from __future__ import annotations

import base64
from pathlib import Path

from ..content import MEDIA_TYPES, Node, media_path
from ._common import escape, markdown

HIDDEN = (
    "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap"
)
"""Inline style for text only screen readers read (the page's stylesheet may not be there)."""


def _data_url(source: Path | None, relative: str) -> str:
    path = media_path(source, relative) if source is not None else None
    if path is None or not path.is_file():
        return ""  # refused by courseware check; never a network fetch
    kind = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def stage_html(node: Node) -> str:
    """Stage directions and non-verbal cues: italic, apart from speech, announced as such."""
    return "".join(
        f"<p class='cw-stage'><span style='{HIDDEN}'>Stage direction: </span>"
        f"<em>{escape(text)}</em></p>"
        for text in node.stage
    )


def media_html(node: Node, source: Path | None) -> str:
    """The node's picture (with its alt text) and recording (with its transcript)."""
    out = []
    if node.image is not None:
        caption = (
            f"<figcaption>{escape(node.image.caption)}</figcaption>" if node.image.caption else ""
        )
        out.append(
            f"<figure class='cw-image'><img src='{_data_url(source, node.image.file)}' "
            f"alt='{escape(node.image.alt)}' style='max-width:100%;height:auto'>{caption}</figure>"
        )
    if node.audio is not None:
        out.append(
            "<figure class='cw-audio'><figcaption>Recording, with its transcript below"
            f"</figcaption><audio controls preload='metadata' "
            f"src='{_data_url(source, node.audio.file)}'>The recording cannot play here; the "
            "transcript below has every word.</audio>"
            "<div class='cw-transcript'><p><strong>Transcript</strong></p>"
            f"{markdown(node.audio.transcript)}</div></figure>"
        )
    return "".join(out)


def pause_html(node: Node) -> str:
    """What a learner (and a screen reader) is told while a pause holds back the choices."""
    if node.pause is None:
        return ""
    seconds = node.pause.seconds
    return (
        "<div class='cw-pause' role='status' aria-live='polite'>"
        f"<p><strong>Pause, {seconds} second{'s' if seconds != 1 else ''}.</strong> "
        f"{escape(node.pause.text)} The choices appear when it ends, or skip the pause.</p></div>"
    )
