import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from usermapper.web.compression import CompressingWriter, compress, decompress, decompress_head

XMLISH = b"".join(
    b'<authorize username="user%05d" password="secret">'
    b'<connection name="PC%05d"><protocol>rdp</protocol><param name="hostname">10.0.%d.%d</param>'
    b"</connection></authorize>\n" % (n, n, n // 256, n % 256)
    for n in range(2000)
)


def test_round_trip_keeps_every_byte():
    assert decompress(compress(XMLISH).data) == XMLISH


def test_size_and_sha256_describe_the_uncompressed_bytes():
    packed = compress(XMLISH)

    assert packed.size == len(XMLISH)
    assert packed.sha256 == hashlib.sha256(XMLISH).hexdigest()
    assert len(packed.data) < len(XMLISH) // 10


def test_head_keeps_only_the_first_bytes_across_writes():
    writer = CompressingWriter(head_limit=10)
    for piece in (b"<?xml", b" version", b'="1.0"?>'):
        writer.write(piece)

    assert writer.finish().head == b"<?xml vers"


def test_no_head_by_default():
    assert compress(XMLISH).head == b""


def test_compress_records_the_content_size_in_the_frame():
    frame = compress(XMLISH).data

    assert zstandard.get_frame_parameters(frame).content_size == len(XMLISH)


def test_streamed_frame_without_content_size_still_decompresses():
    writer = CompressingWriter()
    writer.write(XMLISH)
    frame = writer.finish().data

    assert zstandard.get_frame_parameters(frame).content_size == zstandard.CONTENTSIZE_UNKNOWN
    assert decompress(frame) == XMLISH


@given(st.lists(st.binary(max_size=3000), max_size=20), st.integers(min_value=0, max_value=5000))
def test_many_writes_equal_one_write(pieces, head_limit):
    writer = CompressingWriter(head_limit)
    written = sum(writer.write(piece) for piece in pieces)
    streamed = writer.finish()
    whole = b"".join(pieces)
    at_once = compress(whole, head_limit)

    assert written == len(whole)
    assert decompress(streamed.data) == whole
    assert (streamed.size, streamed.sha256, streamed.head) == (at_once.size, at_once.sha256, at_once.head)


def test_write_accepts_any_bytes_like_object():
    writer = CompressingWriter()
    writer.write(bytearray(b"ab"))
    writer.write(memoryview(b"cd"))

    assert decompress(writer.finish().data) == b"abcd"


def test_writing_after_finish_is_refused():
    writer = CompressingWriter()
    writer.finish()

    with pytest.raises(ValueError):
        writer.write(b"late")


def test_a_truncated_frame_is_refused_not_cut_short():
    frame = compress(XMLISH).data

    with pytest.raises(ValueError):
        decompress(frame[: len(frame) // 2])


def test_threads_each_with_their_own_writer_get_their_own_data():
    documents = [os.urandom(64) * 4000 + XMLISH for _ in range(16)]

    def round_trip(document):
        writer = CompressingWriter(head_limit=64)
        for start in range(0, len(document), 4096):
            writer.write(document[start : start + 4096])
        packed = writer.finish()
        return decompress(packed.data), packed.head, packed.sha256

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(round_trip, documents * 4))

    for document, (restored, head, sha256) in zip(documents * 4, results):
        assert restored == document
        assert head == document[:64]
        assert sha256 == hashlib.sha256(document).hexdigest()


def test_writers_open_at_once_on_one_thread_never_share_a_compressor():
    """Compressors are reused from one upload to the next: writers whose writes interleave (each past the
    batch that goes to zstd at once), and one abandoned half way, still each make their own frame."""
    pieces = {name: [os.urandom(16) * 5000 for _ in range(3)] for name in ("abandoned", "first", "second")}
    abandoned, first, second = CompressingWriter(), CompressingWriter(), CompressingWriter()
    for n in range(3):
        for name, writer in (("abandoned", abandoned), ("first", first), ("second", second)):
            if name != "abandoned" or n == 0:
                writer.write(pieces[name][n])
    third = CompressingWriter()
    third.write(b"third")
    frames = [first.finish(), second.finish(), third.finish(), compress(b"after")]
    assert [decompress(frame.data) for frame in frames] == [
        b"".join(pieces["first"]), b"".join(pieces["second"]), b"third", b"after"]


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 65_537, 3_000_000])
def test_the_head_of_a_frame_is_its_first_bytes_or_all_of_them(size):
    data = os.urandom(size // 2) + b"<connection/>\n" * (size // 28) + b"x" * (size % 28)
    for frame in (compress(data).data, _streamed(data)):
        assert decompress_head(frame, 65_536) == data[:65_536]


def _streamed(data: bytes) -> bytes:
    """A frame written piece by piece with no content size in its header."""
    writer = CompressingWriter()
    for start in range(0, len(data), 70_000):
        writer.write(data[start : start + 70_000])
    return writer.finish().data
