"""Scan from an image: the QR codes in a photo or screenshot of a receipt, as scanned text.

The texts go through the same `record_scan` as a handheld scanner's; errors name the file, in
Chinese, for the clerk.
"""

from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError


class ReceiptImageError(ValueError):
    """The image could not be read, or holds no QR code; the message says which, in Chinese."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def decode_receipt_image(path: Path) -> list[str]:
    """The text of every QR code in the image at `path`, in reading order, without repeats."""
    path = Path(path)
    image = _load(path)
    # QR only: receipts carry QR codes, and looking for every format is several times slower.
    # The reader documents BarcodeFormat | BarcodeFormats; its 3.x stub names only the latter.
    barcodes = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
    texts = list(dict.fromkeys(barcode.text for barcode in barcodes if barcode.text))
    if not texts:
        raise ReceiptImageError(path, f"在图片“{path.name}”中没有找到二维码。"
                                      "请确认二维码完整、清晰后重试，或直接用扫码枪扫描。")
    return texts


def _load(path: Path) -> Image.Image:
    """The image as 8-bit grey, upright: what the decoder reads best."""
    name = path.name or str(path)
    if not path.exists():
        raise ReceiptImageError(path, f"找不到图片文件“{name}”。")
    if not path.is_file():
        raise ReceiptImageError(path, f"“{name}”不是文件，请选择一张 PNG 或 JPG 图片。")
    try:
        with Image.open(path) as opened:
            upright = ImageOps.exif_transpose(opened)
            return upright.convert("L")
    except UnidentifiedImageError:
        raise ReceiptImageError(path, f"“{name}”不是可识别的图片，请选择 PNG 或 JPG 图片。"
                                ) from None
    except Image.DecompressionBombError:
        raise ReceiptImageError(path, f"图片“{name}”过大，无法识别。") from None
    except PermissionError:
        raise ReceiptImageError(path, f"没有权限读取图片文件“{name}”。") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors for damaged files
        raise ReceiptImageError(path, f"无法读取图片“{name}”：文件可能已损坏或不完整"
                                      f"（{type(exc).__name__}）。") from None


__all__ = ["ReceiptImageError", "decode_receipt_image"]
