"""TrueType faces embedded as Type0 (Identity-H) fonts: the text is written as the font's own
glyph ids, so a string's encoding does not depend on which glyphs a document uses.

Each document embeds a subset holding only its glyphs, renumbered in the order of their ids
(a CIDToGIDMap maps id to subset glyph). What a subset is made of is kept per process and serves
every later document, whoever it is for: each glyph's outline, its checksum and its outline
deflated once (deflate.piece), and the tables that never change (name, OS/2, post…) deflated
once. A subset is then its small per-document tables (head, hhea, maxp, hmtx, loca) deflated,
followed by the kept pieces. reportlab reads the font files and their metrics.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from reportlab.lib.rl_accel import calcChecksum, fp_str

from desktop.printing import deflate

# composite glyph flags (the TrueType 'glyf' table)
_ARGS_ARE_WORDS = 1 << 0
_HAVE_SCALE = 1 << 3
_MORE_COMPONENTS = 1 << 5
_HAVE_XY_SCALE = 1 << 6
_HAVE_TWO_BY_TWO = 1 << 7

_STATIC_TABLES = ("OS/2", "cmap", "cvt ", "fpgm", "name", "post", "prep")
# a cmap that maps no character: glyphs are reached through the PDF's CIDToGIDMap
_EMPTY_CMAP = struct.pack(">HHHHLHHHHHHHHHHHH", 0, 1, 3, 1, 12,
                          4, 24, 0, 2, 2, 0, 0, 0xFFFF, 0, 0xFFFF, 1, 0)
_COMPOSITES_KEPT = 4096  # remapped composite outlines kept, beyond which the cache restarts


@dataclass(frozen=True, slots=True)
class _Glyph:
    data: bytes  # the outline, padded to 4 bytes
    checksum: int
    piece: bytes  # `data` deflated (empty for a composite: its piece depends on the numbering)
    components: tuple[int, ...] = ()  # a composite's glyph ids, and where each is written
    at: tuple[int, ...] = ()


@dataclass(frozen=True)
class Subset:
    """A font program (zlib stream) for a set of glyph ids, and its new glyph numbering."""

    stream: bytes
    length: int  # uncompressed, the PDF's /Length1
    new_ids: dict[int, int]


class EmbeddedFace:
    """One TrueType font (a reportlab TTFont, parsed) as the PDF writer embeds it."""

    def __init__(self, font: Any) -> None:
        self.font = font
        self.face = face = font.face
        self.name = face.name.decode("latin-1") if isinstance(face.name, bytes) else face.name
        self.glyph_count: int = face.numGlyphs
        self.default_width: float = face.defaultWidth
        # character → its glyph id as 4 hex digits, for str.translate (a missing character
        # is left as itself, one character, and so found by the length of the result)
        self.hex: dict[int, str] = {code: f"{gid:04x}" for code, gid in face.charToGlyph.items()
                                    if gid}
        self.cid_of: dict[str, int] = {chr(code): gid for code, gid in face.charToGlyph.items()
                                       if gid}
        self.to_unicode_lines: dict[str, str] = {}  # character → its ToUnicode line, as met
        self.widths: dict[int, str] = {}  # glyph id → its width in the PDF's /W, when not 1000
        for code, gid in face.charToGlyph.items():
            width = face.charWidths.get(code, self.default_width)
            if gid and width != 1000:
                self.widths[gid] = fp_str(width)
        data = face._ttf_data
        self._data = data
        self._glyf = face.get_table_pos("glyf")[0]
        self._positions: list[int] = face.glyphPos
        self._metrics = self._horizontal_metrics()
        self._glyphs: dict[int, _Glyph] = {}
        self._composites: dict[bytes, tuple[int, bytes]] = {}
        self._tables = {tag: self._table(tag) for tag in ("head", "hhea", "maxp")}
        static = []
        for tag in _STATIC_TABLES:
            if tag == "cmap":
                static.append((tag, _EMPTY_CMAP))
            elif tag == "post":  # version 3: no glyph names, as reportlab's subsets
                static.append((tag, b"\x00\x03\x00\x00" + self._table("post")[4:16]
                               + bytes(16)))
            elif tag in face.table:
                static.append((tag, self._table(tag)))
        self._static = [(tag, len(body), calcChecksum(body)) for tag, body in static]
        joined = b"".join(_padded(body) for _, body in static)
        self._static_bytes = joined
        self._static_piece = deflate.piece(joined)

    def string_width(self, text: str, size: float) -> float:
        """In points, as reportlab measures it (the widths the PDF gives each glyph)."""
        return float(self.font.stringWidth(text, size))

    def _table(self, tag: str) -> bytes:
        offset, length = self.face.get_table_pos(tag)
        return bytes(self._data[offset:offset + length])

    def _horizontal_metrics(self) -> list[bytes]:
        """Each glyph's (advance, left side bearing) as the 4 bytes a full hmtx entry takes."""
        long_count = struct.unpack(">H", self._table("hhea")[34:36])[0]
        hmtx = self._table("hmtx")
        metrics = [hmtx[4 * n:4 * n + 4] for n in range(long_count)]
        last = metrics[-1][:2]
        base = 4 * long_count
        metrics += [last + hmtx[base + 2 * n:base + 2 * n + 2]
                    for n in range(self.glyph_count - long_count)]
        return metrics

    def glyph(self, gid: int) -> _Glyph:
        kept = self._glyphs.get(gid)
        if kept is None:
            kept = self._glyphs[gid] = self._read_glyph(gid)
        return kept

    def _read_glyph(self, gid: int) -> _Glyph:
        start = self._glyf + self._positions[gid]
        data = bytes(self._data[start:self._glyf + self._positions[gid + 1]])
        if len(data) < 10 or struct.unpack(">h", data[:2])[0] >= 0:
            padded = _padded(data)
            return _Glyph(padded, calcChecksum(padded), deflate.piece(padded))
        components, at, pos = [], [], 10
        flags = _MORE_COMPONENTS
        while flags & _MORE_COMPONENTS:
            flags, component = struct.unpack(">HH", data[pos:pos + 4])
            components.append(component)
            at.append(pos + 2)
            pos += 8 if flags & _ARGS_ARE_WORDS else 6
            if flags & _HAVE_SCALE:
                pos += 2
            elif flags & _HAVE_XY_SCALE:
                pos += 4
            elif flags & _HAVE_TWO_BY_TWO:
                pos += 8
        return _Glyph(_padded(data), 0, b"", tuple(components), tuple(at))

    def subset(self, gids: set[int]) -> Subset:
        """The font program holding glyph 0, `gids` and the glyphs their composites use."""
        wanted = set(gids) | {0}
        todo = list(wanted)
        while todo:
            for component in self.glyph(todo.pop()).components:
                if component not in wanted:
                    wanted.add(component)
                    todo.append(component)
        order = sorted(wanted)
        new_ids = {gid: n for n, gid in enumerate(order)}
        kept = self._glyphs
        glyphs = [kept.get(gid) or self.glyph(gid) for gid in order]
        datas = [glyph.data for glyph in glyphs]
        pieces = [glyph.piece for glyph in glyphs]
        glyf_sum = sum(glyph.checksum for glyph in glyphs)
        for n, glyph in enumerate(glyphs):
            if glyph.components:
                datas[n], checksum, pieces[n] = self._renumbered(glyph, new_ids)
                glyf_sum += checksum
        offsets = [0, *itertools.accumulate(map(len, datas))]
        glyf_length = offsets[-1]
        short = glyf_length < 0x20000
        loca = (struct.pack(f">{len(offsets)}H", *(o >> 1 for o in offsets)) if short
                else struct.pack(f">{len(offsets)}L", *offsets))
        metrics = self._metrics
        hmtx = b"".join(metrics[gid] for gid in order)
        head = bytearray(self._tables["head"])
        head[8:12] = bytes(4)
        head[50:52] = struct.pack(">H", 0 if short else 1)
        hhea = bytearray(self._tables["hhea"])
        hhea[34:36] = struct.pack(">H", len(order))
        maxp = bytearray(self._tables["maxp"])
        maxp[4:6] = struct.pack(">H", len(order))
        own = [("head", bytes(head)), ("hhea", bytes(hhea)), ("hmtx", hmtx), ("loca", loca),
               ("maxp", bytes(maxp))]
        count = len(own) + len(self._static) + 1
        offset = 12 + 16 * count
        entries = []
        for tag, body in own:
            entries.append((tag, calcChecksum(body), offset, len(body)))
            offset += _padded_length(len(body))
        for tag, length, checksum in self._static:
            entries.append((tag, checksum, offset, length))
            offset += _padded_length(length)
        entries.append(("glyf", glyf_sum & 0xFFFFFFFF, offset, glyf_length))
        entries.sort()
        power = 1 << (count.bit_length() - 1)
        directory = struct.pack(">LHHHH", 0x00010000, count, 16 * power,
                                power.bit_length() - 1, 16 * (count - power))
        directory += b"".join(struct.pack(">4sLLL", tag.encode("latin-1"), checksum, at, length)
                              for tag, checksum, at, length in entries)
        total = calcChecksum(directory) + sum(entry[1] for entry in entries)
        head[8:12] = struct.pack(">L", (0xB1B0AFBA - total) & 0xFFFFFFFF)
        own[0] = ("head", bytes(head))
        first = directory + b"".join(_padded(body) for _, body in own)
        glyf = b"".join(datas)
        adler = zlib.adler32(glyf, zlib.adler32(self._static_bytes, zlib.adler32(first)))
        stream = deflate.zlib_stream([deflate.piece(first, 6), self._static_piece, *pieces],
                                     adler)
        return Subset(stream, len(first) + len(self._static_bytes) + glyf_length, new_ids)

    def _renumbered(self, glyph: _Glyph, new_ids: dict[int, int]) -> tuple[bytes, int, bytes]:
        data = bytearray(glyph.data)
        for component, at in zip(glyph.components, glyph.at, strict=True):
            data[at:at + 2] = struct.pack(">H", new_ids[component])
        key = bytes(data)
        kept = self._composites.get(key)
        if kept is None:
            if len(self._composites) >= _COMPOSITES_KEPT:
                self._composites.clear()
            kept = self._composites[key] = (calcChecksum(key), deflate.piece(key))
        return key, kept[0], kept[1]


def _padded_length(length: int) -> int:
    return (length + 3) & ~3


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)
