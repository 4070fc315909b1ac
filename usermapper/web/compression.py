"""zstd compression of generated files, done while they are being written.

zstd rather than gzip: every user's block of connections repeats, and those repeats lie further apart than
gzip's 32 KiB window, so zstd shrinks a big lab's file by orders of magnitude more (see docs/architecture.md).

zstandard's compressor and decompressor objects are not thread-safe, and the app serves requests on
threads: a writer takes a compressor no other writer is using (``_IdleCompressors``), and every
``decompress`` call makes its own decompressor.
"""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass

import zstandard

LEVEL = 3
# Writes are gathered up to this many bytes before zstd sees them: the XML writer hands over one small
# piece per element, and each call into zstd costs about as much as compressing a few KiB.
BATCH_BYTES = 64 * 1024


class _IdleCompressors(threading.local):
    """Each thread's compressors that no writer is using. Making one costs about 18 us, as much as
    compressing classroom's whole XML, and every upload compresses four documents; a writer takes one
    here and gives it back when it finishes, so no two writers ever share one (a writer that fails on
    the way just drops its own)."""

    def __init__(self) -> None:
        self.compressors: list[zstandard.ZstdCompressor] = []

    def take(self) -> zstandard.ZstdCompressor:
        return self.compressors.pop() if self.compressors else zstandard.ZstdCompressor(level=LEVEL)

    def give_back(self, compressor: zstandard.ZstdCompressor) -> None:
        self.compressors.append(compressor)


_idle_compressors = _IdleCompressors()


@dataclass(frozen=True)
class Compressed:
    """One zstd frame and what is known about the bytes it holds."""

    data: bytes
    size: int
    sha256: str
    head: bytes


class CompressingWriter(io.RawIOBase):
    """A binary file to write a document into piece by piece; ``finish()`` returns it compressed.

    It keeps only the compressed frame, the uncompressed size, a SHA-256 of the uncompressed bytes and
    their first ``head_limit`` bytes (a preview), so memory stays small however big the document is.
    Give ``size`` when the exact length is known up front; the frame header then records it.
    """

    def __init__(self, head_limit: int = 0, *, size: int | None = None):
        super().__init__()
        self._head_limit = head_limit
        self._head = bytearray()
        self._size = 0
        self._sha256 = hashlib.sha256()
        self._owner = _idle_compressors.take()
        self._compressor = self._owner.compressobj(size=-1 if size is None else size)
        self._frame = io.BytesIO()
        self._pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a CompressingWriter after finish()")
        data = memoryview(data).cast("B")
        self._keep_head(data)
        self._size += len(data)
        self._sha256.update(data)
        self._pending += data
        if len(self._pending) >= BATCH_BYTES:
            self._frame.write(self._compressor.compress(self._pending))
            self._pending.clear()
        return len(data)

    def finish(self) -> Compressed:
        """End the frame and close the writer; call it once, after the last write."""
        self._frame.write(self._compressor.compress(self._pending) + self._compressor.flush())
        _idle_compressors.give_back(self._owner)
        self.close()
        return Compressed(
            data=self._frame.getvalue(),
            size=self._size,
            sha256=self._sha256.hexdigest(),
            head=bytes(self._head),
        )

    def _keep_head(self, data: memoryview) -> None:
        missing = self._head_limit - len(self._head)
        if missing > 0:
            self._head += data[:missing]


def compress(data: bytes, head_limit: int = 0) -> Compressed:
    """Compress a document already in memory; its size goes into the frame header."""
    writer = CompressingWriter(head_limit, size=len(data))
    writer.write(data)
    return writer.finish()


def decompress(data: bytes) -> bytes:
    """The bytes held by one complete zstd frame, whether or not its header records their size.

    A frame that records its size (every file the app writes now) is decompressed into one buffer of
    exactly that size; one that does not is decompressed piece by piece. Raises ``zstandard.ZstdError``
    for data that is not a zstd frame, and ``ValueError`` for a frame that is cut short, so a damaged
    session is never served as a silently truncated file.
    """
    if zstandard.get_frame_parameters(data).content_size != zstandard.CONTENTSIZE_UNKNOWN:
        try:
            return zstandard.ZstdDecompressor().decompress(data)
        except zstandard.ZstdError as error:
            if "did not decompress full frame" in str(error):
                raise ValueError("the zstd frame is incomplete") from None
            raise
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    content = decompressor.decompress(data)
    if not decompressor.eof:
        raise ValueError("the zstd frame is incomplete")
    return content


def decompress_head(data: bytes, limit: int) -> bytes:
    """The first ``limit`` bytes a zstd frame holds (all of them when it holds fewer), decompressing no
    more than that: the preview of a 68 MB file costs what its first 64 KiB cost."""
    reader = zstandard.ZstdDecompressor().stream_reader(data)
    head = bytearray()
    while len(head) < limit:
        piece = reader.read(limit - len(head))
        if not piece:
            break
        head += piece
    return bytes(head)
