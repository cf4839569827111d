"""Draw the counter's icon (resources/icons/counter-desk.ico and .png): a rounded teal square
with a green plus on a white disc and 柜 (the counter), readable from 16 to 256 pixels.

    .venv/bin/python scripts/make_icon.py

The font is the WenQuanYi Micro Hei that scripts/setup.sh installs (its licence allows
embedding the drawn glyph in an image).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
SIZES = (16, 24, 32, 48, 64, 128, 256)
# no red cross on white: that is the Red Cross emblem, which nobody else may use
TEAL, WHITE, PLUS = (0, 110, 120, 255), (255, 255, 255, 255), (0, 150, 110, 255)


def draw(size: int = 1024) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=TEAL)
    # a green plus on a white disc, top left
    disc = size * 0.42
    pen.ellipse((size * 0.06, size * 0.06, size * 0.06 + disc, size * 0.06 + disc), fill=WHITE)
    cx, cy, arm, bar = size * 0.06 + disc / 2, size * 0.06 + disc / 2, disc * 0.34, disc * 0.12
    pen.rectangle((cx - bar, cy - arm, cx + bar, cy + arm), fill=PLUS)
    pen.rectangle((cx - arm, cy - bar, cx + arm, cy + bar), fill=PLUS)
    # 柜, bottom right
    font = ImageFont.truetype(str(FONT), int(size * 0.62))
    pen.text((size * 0.70, size * 0.66), "柜", font=font, fill=WHITE, anchor="mm")
    return image


def main() -> int:
    art = draw()
    out = ROOT / "resources" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    art.resize((256, 256), Image.Resampling.LANCZOS).save(out / "counter-desk.png")
    art.save(out / "counter-desk.ico", sizes=[(s, s) for s in SIZES])
    print(f"wrote {out / 'counter-desk.ico'} and counter-desk.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
