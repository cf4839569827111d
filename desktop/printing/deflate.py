"""Zlib streams assembled from pieces deflated once and kept: a piece is raw deflate ended by a
sync flush (byte-aligned, not final), so pieces join in any order into one deflate stream.

The form engine keeps such a piece for each glyph outline and for a font's unchanging tables,
so that a font subset costs a join and a checksum, not a compression, once its glyphs are known.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

_HEADER = b"\x78\xda"  # deflate, 32 kB window, "maximum compression" (informative only)
_FINAL = b"\x03\x00"  # a final, empty block with fixed Huffman codes


def piece(data: bytes, level: int = 9) -> bytes:
    """`data` as raw deflate blocks that end on a byte boundary and are not final."""
    if not data:
        return b""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def zlib_stream(pieces: Iterable[bytes], adler: int) -> bytes:
    """A zlib stream of the pieces in order; `adler` is the Adler-32 of all their data."""
    return b"".join((_HEADER, *pieces, _FINAL, adler.to_bytes(4, "big")))
