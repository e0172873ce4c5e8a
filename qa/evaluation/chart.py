"""A horizontal bar chart of the 0..1 metrics of one or more runs, drawn with Pillow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

COLOURS = ["#2f6db5", "#e07b24", "#3a9a4a", "#b53a3a"]


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def bar_chart(
    series: list[tuple[str, dict[str, float | None]]],
    labels: dict[str, str],
    path: str | Path,
    title: str = "",
) -> Path:
    """series: [(run name, {metric: value in 0..1 or None})]; one group of bars per metric."""
    metrics = [k for k in labels if any(s.get(k) is not None for _, s in series)]
    bar_h, gap, left, right, top = 16, 12, 250, 70, 60
    width = 900
    group = bar_h * len(series) + gap
    height = top + group * max(1, len(metrics)) + 40
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font, small = _font(14), _font(12)
    draw.text((10, 10), title, fill="black", font=_font(16))
    for i, (name, _) in enumerate(series):  # legend
        x = left + i * 160
        draw.rectangle([x, 36, x + 12, 48], fill=COLOURS[i % len(COLOURS)])
        draw.text((x + 18, 34), name, fill="black", font=small)
    span = width - left - right
    for x in (0.0, 0.25, 0.5, 0.75, 1.0):  # grid
        gx = left + int(span * x)
        draw.line([gx, top - 4, gx, height - 30], fill="#dddddd")
        draw.text((gx - 8, height - 26), f"{x:g}", fill="#666666", font=small)
    for row, key in enumerate(metrics):
        y0 = top + row * group
        draw.text((10, y0 + (group - gap) // 2 - 8), labels[key], fill="black", font=font)
        for i, (_, values) in enumerate(series):
            v = values.get(key)
            y = y0 + i * bar_h
            if v is None:
                draw.text((left + 4, y), "n/a", fill="#999999", font=small)
                continue
            v = max(0.0, min(1.0, float(v)))
            draw.rectangle(
                [left, y, left + int(span * v), y + bar_h - 3], fill=COLOURS[i % len(COLOURS)]
            )
            draw.text((left + int(span * v) + 4, y), f"{v:.2f}", fill="black", font=small)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, format="PNG")
    return out
