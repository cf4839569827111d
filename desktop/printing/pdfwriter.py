"""A small PDF writer for the form engine: lines of text, boxes, a rotated watermark, on pages
of one size, with subsets of the TrueType faces embedded as Type0 fonts (truetype.py).

It writes what the engine draws and nothing else, in one pass and without an object model: a
page is a list of operator lines, the file a list of objects written once at the end. The output
depends only on what was drawn (no date, an /ID from the content), so the same form with the same
data gives the same bytes. Text stays extractable: each font has a ToUnicode map.
"""

from __future__ import annotations

import hashlib
import math
import struct
import zlib

from desktop.printing.truetype import EmbeddedFace

_FACES: dict[str, EmbeddedFace] = {}
_TOUNICODE_HEAD = (
    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
    "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
    "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
_TOUNICODE_TAIL = ("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
# zlib level of the page streams and the ToUnicode maps: level 3 takes a third of the time of
# the default level (6) for 10 % more bytes (0.1 against 0.3 ms for the 50-row form's pages)
PAGE_LEVEL = 3
# A line of text is written the same in every document (its font's resource is named after the
# font, its characters are glyph ids), so the operators of each line are kept for the next one.
_kept_ops: dict[tuple[str, float, float, float, str], str] = {}
_kept_boxes: dict[tuple[float, float, float, float], str] = {}  # and of each box
_OPS_KEPT = 20_000  # beyond which the cache starts again


def embed_face(name: str, face: EmbeddedFace) -> None:
    """Make a face available to every writer under `name` (once per process)."""
    _FACES[name] = face


def face_named(name: str) -> EmbeddedFace:
    return _FACES[name]


class _UsedFont:
    """One face as one document uses it: its resource name and the characters it shows."""

    __slots__ = ("face", "missing", "resource", "used")

    def __init__(self, face: EmbeddedFace, resource: str) -> None:
        self.face = face
        self.resource = resource
        self.used: set[str] = set()
        self.missing: dict[str, int] = {}  # a character the face lacks → the CID it is given

    def encode(self, text: str) -> str:
        self.used.update(text)
        shown = text.translate(self.face.hex)
        if len(shown) == 4 * len(text):
            return shown
        # a character the face lacks: shown as glyph 0, but given a CID of its own beyond the
        # face's glyphs, so that ToUnicode still gives it back when the text is extracted
        return "".join(self.face.hex.get(ord(char)) or f"{self._missing_cid(char):04x}"
                       for char in text)

    def _missing_cid(self, char: str) -> int:
        cid = self.missing.get(char)
        if cid is None:
            cid = self.missing[char] = self.face.glyph_count + len(self.missing)
        return cid


class PdfWriter:
    """Draw with `text`, `rect` and `watermark`, end each page with `show_page`, then `finish`.
    Coordinates are PDF points from the page's bottom-left corner."""

    def __init__(self, width: float, height: float, *, title: str, author: str) -> None:
        self.width = width
        self.height = height
        self.title = title
        self.author = author
        self._pages: list[bytes] = []
        self._ops: list[str] = []
        self._fonts: dict[str, _UsedFont] = {}
        self._line_width: float | None = None
        self._alpha: float | None = None

    def _font(self, name: str) -> _UsedFont:
        font = self._fonts.get(name)
        if font is None:
            font = self._fonts[name] = _UsedFont(_FACES[name], name)
        return font

    def text(self, font: str, size: float, x: float, y: float, text: str) -> None:
        """One line of `text` starting at (x, y) on its baseline."""
        used = self._fonts.get(font) or self._font(font)
        key = (font, size, x, y, text)
        op = _kept_ops.get(key)
        if op is None:
            shown = used.encode(text)
            op = f"BT /{font} {size:g} Tf {x:.3f} {y:.3f} Td <{shown}> Tj ET"
            if not used.missing:  # CIDs of missing characters are the document's own
                if len(_kept_ops) >= _OPS_KEPT:
                    _kept_ops.clear()
                _kept_ops[key] = op
        else:
            used.used.update(text)
        self._ops.append(op)

    def rect(self, x: float, y: float, width: float, height: float, line_width: float) -> None:
        """The outline of a rectangle, stroked in black."""
        if line_width != self._line_width:
            self._ops.append(f"{line_width:g} w")
            self._line_width = line_width
        key = (x, y, width, height)
        op = _kept_boxes.get(key)
        if op is None:
            if len(_kept_boxes) >= _OPS_KEPT:
                _kept_boxes.clear()
            op = _kept_boxes[key] = f"{x:.3f} {y:.3f} {width:.3f} {height:.3f} re S"
        self._ops.append(op)

    def watermark(self, font: str, size: float, text: str, x: float, y: float, degrees: float,
                  grey: float, alpha: float) -> None:
        """`text` centred on (x, y), turned `degrees` anticlockwise, in a translucent grey
        (one opacity per document: the last one given)."""
        used = self._font(font)
        self._alpha = alpha
        width = used.face.string_width(text, size)
        cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        self._ops.append(f"q /GS1 gs {grey:g} {grey:g} {grey:g} rg "
                         f"{cos:.6f} {sin:.6f} {-sin:.6f} {cos:.6f} {x:.3f} {y:.3f} cm "
                         f"BT /{font} {size:g} Tf {-width / 2:.3f} 0 Td "
                         f"<{used.encode(text)}> Tj ET Q")

    def show_page(self) -> None:
        self._pages.append(zlib.compress("\n".join(self._ops).encode("ascii"), PAGE_LEVEL))
        self._ops = []
        self._line_width = None

    def finish(self) -> bytes:
        """The PDF file; pages drawn after the last `show_page` are not in it."""
        objects = _Objects()
        add, add_stream = objects.add, objects.add_stream
        catalog = add(b"")  # filled in below, once the page tree's number is known
        info = add(f"<< /Title {_text_string(self.title)} /Author {_text_string(self.author)} "
                   f"/Creator (counter-desk) /Producer (counter-desk pdfwriter) >>"
                   .encode("ascii"))
        fonts = []
        tags = []
        for used in self._fonts.values():
            number, tag = _add_font(used, objects)
            fonts.append(f"/{used.resource} {number} 0 R")
            tags.append(tag)
        states = ("" if self._alpha is None
                  else f" /ExtGState << /GS1 << /ca {self._alpha:g} >> >>")
        resources = add(f"<< /Font << {' '.join(fonts)} >>{states} >>".encode("ascii"))
        tree = len(objects.bodies) + 1 + 2 * len(self._pages)
        kids = []
        for content in self._pages:
            stream = add_stream(content)
            kids.append(add(f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 "
                            f"{self.width:.4f} {self.height:.4f}] /Resources {resources} 0 R "
                            f"/Contents {stream} 0 R >>".encode("ascii")))
        references = " ".join(f"{kid} 0 R" for kid in kids)
        pages = add(f"<< /Type /Pages /Kids [{references}] /Count {len(kids)} >>"
                    .encode("ascii"))
        assert pages == tree, "the page tree's number, given to each page, is its own"
        objects.bodies[catalog - 1] = f"<< /Type /Catalog /Pages {tree} 0 R >>".encode("ascii")
        digest = hashlib.md5(usedforsecurity=False)
        for content in self._pages:
            digest.update(content)
        digest.update(" ".join(tags).encode("ascii"))
        identifier = digest.hexdigest()
        return _file(objects.bodies, f"/Root {catalog} 0 R /Info {info} 0 R "
                              f"/ID [<{identifier}> <{identifier}>]")


class _Objects:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []  # object n is bodies[n - 1]

    def add(self, body: bytes) -> int:
        self.bodies.append(body)
        return len(self.bodies)

    def add_stream(self, data: bytes, extra: str = "") -> int:
        head = f"<< /Length {len(data)} /Filter /FlateDecode{extra} >>\nstream\n"
        return self.add(head.encode("ascii") + data + b"\nendstream")


def _add_font(used: _UsedFont, objects: _Objects) -> tuple[int, str]:
    """The Type0 font's objects; its number and the subset's name."""
    adding, streaming = objects.add, objects.add_stream
    face = used.face
    chars: dict[int, str] = {}  # CID → the character it shows
    cid_of = face.cid_of
    for char in sorted(used.used):
        cid = cid_of.get(char) or used.missing[char]
        if cid not in chars:
            chars[cid] = char
    gids = {cid for cid in chars if cid < face.glyph_count}
    subset = face.subset(gids)
    tag = _subset_tag(gids)
    name = f"{tag}+{face.name}"
    program = streaming(subset.stream, f" /Length1 {subset.length}")
    cids = sorted(chars)
    mapping = bytearray(2 * (cids[-1] + 1) if cids else 2)
    for cid in cids:
        new = subset.new_ids.get(cid, 0)
        mapping[2 * cid:2 * cid + 2] = new.to_bytes(2, "big")
    # mostly zeros, which run-length matching alone compresses best and fastest
    packer = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    cid_map = streaming(packer.compress(mapping) + packer.flush())
    kept = face.to_unicode_lines
    lines = [kept.get(chars[cid]) or _to_unicode_line(cid, chars[cid], kept, cid in gids)
             for cid in cids]
    blocks = "".join(f"{len(block)} beginbfchar\n" + "\n".join(block) + "\nendbfchar\n"
                     for block in (lines[n:n + 100] for n in range(0, len(lines), 100)))
    to_unicode = streaming(zlib.compress(
        (_TOUNICODE_HEAD + blocks + _TOUNICODE_TAIL).encode("ascii"), PAGE_LEVEL))
    raw = face.face
    descriptor = adding(
        f"<< /Type /FontDescriptor /FontName /{name} /Flags {raw.flags} /FontBBox "
        f"[{' '.join(f'{v:g}' for v in raw.bbox)}] /ItalicAngle {raw.italicAngle:g} "
        f"/Ascent {raw.ascent:g} /Descent {raw.descent:g} /CapHeight {raw.capHeight:g} "
        f"/StemV {raw.stemV} /MissingWidth {face.default_width:g} /FontFile2 {program} 0 R >>"
        .encode("ascii"))
    widths = []
    for cid in cids:
        width = face.widths.get(cid) if cid < face.glyph_count else f"{face.default_width:g}"
        if width is not None:
            widths.append(f"{cid} [{width}]")
    descendant = adding(
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << "
        f"/Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor "
        f"{descriptor} 0 R /DW 1000 /W [{' '.join(widths)}] /CIDToGIDMap {cid_map} 0 R >>"
        .encode("ascii"))
    number = adding(f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding "
                    f"/Identity-H /DescendantFonts [{descendant} 0 R] /ToUnicode "
                    f"{to_unicode} 0 R >>".encode("ascii"))
    return number, name


def _to_unicode_line(cid: int, char: str, kept: dict[str, str], lasting: bool) -> str:
    """ToUnicode's line for one CID; kept for the next document unless the CID is this
    document's own (a character the face lacks)."""
    line = f"<{cid:04x}> <{char.encode('utf-16-be', 'surrogatepass').hex()}>"
    if lasting:
        kept[char] = line
    return line


def _subset_tag(gids: set[int]) -> str:
    """Six capital letters named after the glyphs, as PDF subsets are named."""
    number = zlib.crc32(struct.pack(f">{len(gids)}H", *sorted(gids)))
    letters = []
    for _ in range(6):
        number, letter = divmod(number, 26)
        letters.append(chr(65 + letter))
    return "".join(letters)


def _text_string(text: str) -> str:
    """A PDF text string: UTF-16BE with its byte order mark, in hex."""
    return f"<feff{text.encode('utf-16-be', 'surrogatepass').hex()}>"


def _file(objects: list[bytes], trailer: str) -> bytes:
    parts = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    offsets = []
    at = len(parts[0])
    for number, body in enumerate(objects, 1):
        offsets.append(at)
        head = f"{number} 0 obj\n".encode("ascii")
        parts += (head, body, b"\nendobj\n")
        at += len(head) + len(body) + 8
    xref = "".join(f"{offset:010d} 00000 n \n" for offset in offsets)
    parts.append(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n{xref}trailer\n"
                 f"<< /Size {len(objects) + 1} {trailer} >>\nstartxref\n{at}\n%%EOF\n"
                 .encode("ascii"))
    return b"".join(parts)
