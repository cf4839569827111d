"""Scan from an image: real QR codes drawn with segno, as PNG and JPG, and every way it fails."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import segno
from PIL import Image

from desktop.domain.receipt_qr import ParsedReceipt, parse_receipt_text
from desktop.services.receipt_image import ReceiptImageError, decode_receipt_image

FISCAL = ("https://ebill.example/eips-wxapp-service/d?t=504&a=X"
          "&d=31060126_0000012345_a1b2c3_236.21_20260315&s=0")
VAT = "01,10,031001900211,12345678,87.38,20260315,12345678901234567890,9F0C,"


def qr_image(text: str, scale: int = 6) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    buffer.seek(0)
    with Image.open(buffer) as image:
        return image.convert("RGB")


def test_a_png_receipt_qr_is_decoded_to_its_exact_text(tmp_path: Path) -> None:
    path = tmp_path / "receipt.png"
    qr_image(FISCAL).save(path)
    assert decode_receipt_image(path) == [FISCAL]
    parsed = parse_receipt_text(decode_receipt_image(path)[0])
    assert isinstance(parsed, ParsedReceipt) and parsed.receipt_no == "0000012345"


def test_a_jpg_photo_with_the_code_off_centre_and_turned(tmp_path: Path) -> None:
    canvas = Image.new("RGB", (900, 700), (235, 232, 225))  # paper, not pure white
    canvas.paste(qr_image(VAT, scale=5).rotate(90, expand=True), (420, 180))
    path = tmp_path / "photo.JPG"
    canvas.save(path, format="JPEG", quality=85)
    assert decode_receipt_image(path) == [VAT]


def test_every_code_in_the_image_is_returned_once(tmp_path: Path) -> None:
    canvas = Image.new("L", (1100, 500), 255)
    canvas.paste(qr_image(FISCAL, scale=4), (20, 20))
    canvas.paste(qr_image(VAT, scale=4), (560, 20))
    path = tmp_path / "two.png"
    canvas.save(path)
    assert sorted(decode_receipt_image(path)) == sorted([FISCAL, VAT])
    twice = Image.new("L", (1100, 500), 255)
    twice.paste(qr_image(VAT, scale=4), (20, 20))
    twice.paste(qr_image(VAT, scale=4), (560, 20))
    twice.save(path)
    assert decode_receipt_image(path) == [VAT]


def test_an_image_without_a_qr_code_says_so(tmp_path: Path) -> None:
    path = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), (255, 255, 255)).save(path)
    with pytest.raises(ReceiptImageError, match=r"在图片“blank\.png”中没有找到二维码") as caught:
        decode_receipt_image(path)
    assert caught.value.path == path
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.png", b"this is a text file, not a picture", r"“notes\.png”不是可识别的图片"),
    ("empty.jpg", b"", r"“empty\.jpg”不是可识别的图片"),
])
def test_a_file_that_is_not_an_image_is_refused(tmp_path: Path, name: str, content: bytes,
                                               message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReceiptImageError, match=message):
        decode_receipt_image(path)


def test_a_damaged_image_is_refused(tmp_path: Path) -> None:
    whole = tmp_path / "whole.png"
    qr_image(FISCAL).save(whole)
    path = tmp_path / "cut.png"
    path.write_bytes(whole.read_bytes()[:200])  # the header survives, the pixels do not
    with pytest.raises(ReceiptImageError, match=r"无法读取图片“cut\.png”"):
        decode_receipt_image(path)


def test_a_missing_file_or_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReceiptImageError, match=r"找不到图片文件“gone\.png”"):
        decode_receipt_image(tmp_path / "gone.png")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(ReceiptImageError, match=r"“folder\.png”不是文件"):
        decode_receipt_image(folder)
