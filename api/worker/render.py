"""The reference worker's media: a captioned title card per scene (Pillow), a synthetic narration
(a sine tone then silence per scene, WAV by the standard library), the MP4 (H.264 yuv420p + AAC)
encoded by the ffmpeg that the imageio-ffmpeg package ships, and a probe of what ffmpeg made.

Nothing here knows the service: it turns texts and a resolution into files.
"""
from __future__ import annotations

import array
import math
import re
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# domain-reference.md: the aspect ratios a project may have, and the resolution each renders at.
RESOLUTIONS = {"9:16": (1080, 1920), "16:9": (1920, 1080), "1:1": (1080, 1080)}
# template name → (background, caption colour, accent)
PALETTES = {"classic": ((20, 32, 64), (245, 245, 240), (240, 190, 80)),
            "dark": ((12, 12, 14), (230, 230, 230), (120, 160, 255)),
            "vivid": ((200, 60, 40), (255, 250, 235), (255, 220, 60))}
FPS = 24
SAMPLE_RATE = 22_050
CHARS_PER_SECOND = 15.0          # a narrator's pace at speed 1.0 (CJK text is read slower per character)
CJK_CHARS_PER_SECOND = 5.0
MIN_SCENE_SECONDS, MAX_SCENE_SECONDS = 2.0, 20.0


class RenderError(Exception):
    """The media could not be made (ffmpeg failed, an unreadable output): worth another attempt."""


def resolution(config: dict[str, object]) -> tuple[int, int]:
    """The project's (width, height) from its aspect ratio (9:16 when absent, as the default config)."""
    ratio = str(config.get("aspect_ratio") or "9:16")
    if ratio not in RESOLUTIONS:
        raise ValueError(f"aspect_ratio {ratio!r} is not one of {', '.join(RESOLUTIONS)}")
    return RESOLUTIONS[ratio]


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\u3000" <= ch <= "\u303f"


def scene_seconds(text: str, speed: float = 1.0) -> float:
    """How long the narration of `text` lasts: characters at a narrator's pace, scaled by the voice speed."""
    cjk = sum(1 for ch in text if _is_cjk(ch))
    other = len(text.strip()) - cjk
    seconds = (cjk / CJK_CHARS_PER_SECOND + other / CHARS_PER_SECOND) / max(0.5, min(2.0, speed or 1.0))
    return round(max(MIN_SCENE_SECONDS, min(MAX_SCENE_SECONDS, seconds)), 2)


# -- title cards ---------------------------------------------------------------------------------------
def _tokens(text: str) -> list[str]:
    """Words (with their following space) for spaced scripts, single characters for CJK."""
    return re.findall(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f]|[^\s\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f]+\s*|\s+",
                      " ".join(text.split()))


def wrap(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy line breaking: as many tokens per line as `fits` accepts (an over-long word is cut)."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if fits((line + token).rstrip()):
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = token.lstrip()
        while line and not fits(line.rstrip()):  # one word wider than the card: cut it
            cut = len(line) - 1
            while cut > 1 and not fits(line[:cut]):
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines


def title_card(path: Path, caption: str, heading: str, footer: str, size: tuple[int, int],
               template: str = "classic") -> None:
    """A PNG of `size`: the heading at the top, the caption wrapped and centred, the footer below."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    background, ink, accent = PALETTES.get(template, PALETTES["classic"])
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    margin = width // 12
    body = ImageFont.load_default(size=max(12, width // 18))
    small = ImageFont.load_default(size=max(10, width // 30))
    lines = wrap(caption, lambda s: draw.textlength(s, font=body) <= width - 2 * margin)
    line_height = int(body.size * 1.35)
    max_lines = max(1, (height - 6 * margin) // line_height)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [lines[max_lines - 1].rstrip(" .") + " …"]
    top = (height - line_height * len(lines)) // 2
    for i, line in enumerate(lines):
        draw.text((width // 2, top + i * line_height), line, font=body, fill=ink, anchor="ma")
    draw.text((width // 2, margin), heading[:80], font=small, fill=accent, anchor="ma")
    draw.line([(margin, margin * 2), (width - margin, margin * 2)], fill=accent, width=max(1, width // 270))
    draw.text((width // 2, height - margin), footer, font=small, fill=accent, anchor="md")
    image.save(path, format="PNG", optimize=False)


# -- narration -----------------------------------------------------------------------------------------
def narration(path: Path, durations: list[float], tone: bool = True) -> float:
    """A mono 16-bit WAV: per scene a soft sine tone for 70 % of its time, then silence (or silence
    throughout when `tone` is false); its duration in seconds."""
    samples = array.array("h")
    for i, seconds in enumerate(durations):
        n = int(round(seconds * SAMPLE_RATE))
        voiced = int(n * 0.7) if tone else 0
        step = 2 * math.pi * (220.0 * (1 + (i % 4) / 4)) / SAMPLE_RATE
        fade = max(1, min(voiced // 10, SAMPLE_RATE // 50))
        samples.extend(int(6000 * math.sin(k * step) * min(1.0, k / fade, (voiced - k) / fade)) for k in range(voiced))
        samples.extend([0] * (n - voiced))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.tobytes())
    return len(samples) / SAMPLE_RATE


# -- encoding ------------------------------------------------------------------------------------------
def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped inside the imageio-ffmpeg wheel (no system ffmpeg needed)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def encode_command(cards: list[tuple[Path, float]], audio: Path, out: Path, size: tuple[int, int]) -> list[str]:
    """ffmpeg arguments: the cards for their durations (concat demuxer), the narration, → H.264 + AAC MP4."""
    listing = out.with_suffix(".txt")
    entries = [f"file '{p.name}'\nduration {d:.3f}\n" for p, d in cards]
    listing.write_text("ffconcat version 1.0\n" + "".join(entries) + f"file '{cards[-1][0].name}'\n")
    width, height = (size[0] // 2 * 2, size[1] // 2 * 2)  # H.264 4:2:0 needs even dimensions
    total = sum(d for _, d in cards)
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats",
            "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(audio),
            "-map", "0:v:0", "-map", "1:a:0",
            "-vf", f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                   f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,fps={FPS},format=yuv420p",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "96k", "-ar", "44100", "-t", f"{total:.3f}",
            "-movflags", "+faststart", str(out)]


def encode(command: list[str], total_seconds: float, on_progress: Callable[[float], None],
           started: Callable[[subprocess.Popen[str]], None] = lambda p: None) -> None:
    """Run ffmpeg, calling `on_progress(fraction)` as it reports its position; `started` receives the
    process (so that a cancellation can stop it). RenderError when it does not succeed."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started(proc)
    assert proc.stdout is not None
    for line in proc.stdout:
        key, _, value = line.strip().partition("=")
        if key == "out_time_us" and value.isdigit() and total_seconds > 0:
            on_progress(min(1.0, int(value) / 1e6 / total_seconds))
    errors = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0:
        raise RenderError(f"ffmpeg exited with {proc.returncode}: {errors.strip()[-500:]}")


@dataclass(frozen=True)
class Probe:
    """What a media file holds, as ffmpeg reads it back."""

    duration_seconds: float
    width: int | None
    height: int | None
    video_codec: str | None
    pixel_format: str | None
    audio_codec: str | None
    streams: int


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio|Subtitle|Data): (.*)$", re.M)


def probe(path: Path) -> Probe:
    """Read a file's duration, streams and picture size with `ffmpeg -i` (imageio-ffmpeg ships no
    ffprobe; `ffmpeg -i FILE` prints the same facts on stderr and exits 1 for want of an output)."""
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True,
                          text=True, timeout=60)
    text = done.stderr
    duration = _DURATION.search(text)
    if duration is None:
        raise RenderError(f"ffmpeg cannot read {path.name}: {text.strip()[-300:]}")
    h, m, s = duration.groups()
    width = height = None
    video = audio = pix = None
    streams = _STREAM.findall(text)
    for kind, desc in streams:
        if kind == "Video" and video is None:
            video = desc.split()[0].strip(",")
            size = re.search(r"\b(\d{2,5})x(\d{2,5})\b", desc)
            if size:
                width, height = int(size.group(1)), int(size.group(2))
            fmt = re.search(r"\b(yuv\w+|rgb\w+|gray\w*)\b", desc)
            pix = fmt.group(1) if fmt else None
        elif kind == "Audio" and audio is None:
            audio = desc.split()[0].strip(",")
    return Probe(duration_seconds=int(h) * 3600 + int(m) * 60 + float(s), width=width, height=height,
                 video_codec=video, pixel_format=pix, audio_codec=audio, streams=len(streams))
