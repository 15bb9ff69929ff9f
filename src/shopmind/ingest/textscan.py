"""Physical-line facts about a text file, and an exact record splitter for hard CSV files.

DuckDB's CSV reader is fast but counts a record as one line and skips empty lines, and an
unclosed quote makes it swallow the rest of the file. One cheap pass over the bytes tells
whether that can matter: where the empty lines are (so record numbers map back to physical
line numbers) and whether any line has an odd number of quote characters (a multi-line record
or a broken quote). Files with such a line are split here instead, record by record: a record
that spans lines is accepted only when it parses into the expected number of fields; otherwise
only its first line is rejected and reading resumes on the next line.

Rejected bytes are kept exactly: :func:`escape_bytes` writes invalid UTF-8 bytes as ``\\xNN``
and doubles backslashes (valid text is unchanged when it holds no backslash).
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from shopmind.errors import IngestError

_CHUNK = 1 << 22
_HASH_AHEAD = 4  # blocks (of _CHUNK bytes) the hashing thread may lag behind the scan
#: bytes.translate table that deletes everything but quotes and newlines
_NOT_QUOTE_OR_NEWLINE = bytes(b for b in range(256) if b not in b'"\n')
_QUOTE = re.compile(rb'"')
BOM = b"\xef\xbb\xbf"


@dataclass
class TextScan:
    """What one pass over the bytes found."""

    lines: int = 0  # physical lines (a last line without a newline counts)
    blank_lines: list[int] = field(default_factory=list)  # 1-based numbers of empty lines
    odd_quote_lines: bool = False  # some line has an odd number of '"'
    not_utf8: bool = False  # some byte sequence is not UTF-8 (DuckDB's strict reader fails)


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def scan_text(path: Path, *, quotes: bool = True, digest: _Digest | None = None) -> TextScan:
    """One pass in 4 MiB blocks: line count, empty lines, lines with an odd number of quotes.

    ``digest`` (a ``hashlib`` object) is fed every byte of the file on the way, so a caller
    that needs the file's hash too reads it once."""
    scan = TextScan()
    for region in _line_regions(path, digest=digest, strip_bom=True):
        _scan_region(scan, region, quotes)
    return scan


class _BackgroundDigest:
    """Feeds a digest in a thread of its own, so hashing a block overlaps the scan of the next
    (``hashlib`` releases the GIL on large buffers); at most ``_HASH_AHEAD`` blocks wait.
    ``close`` returns once every block is in the digest."""

    def __init__(self, digest: _Digest) -> None:
        self._digest = digest
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopmind-sha256")
        self._pending: deque[Future[None]] = deque()

    def update(self, block: bytes) -> None:
        self._pending.append(self._pool.submit(self._digest.update, block))
        if len(self._pending) > _HASH_AHEAD:
            self._pending.popleft().result()

    def close(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)


def _line_regions(
    path: Path, *, digest: _Digest | None = None, strip_bom: bool = False
) -> Iterator[bytes]:
    """The file in regions of whole lines (about 4 MiB each), each ending in a newline (a
    last line without one gets it); ``digest`` is fed every byte read. Blocks without a
    newline (a file with carriage-return line ends only) wait in a list and are joined once,
    not copied again with every block."""
    carry: list[bytes] = []
    first = strip_bom
    feed = _BackgroundDigest(digest) if digest is not None else None
    hashing = contextlib.closing(feed) if feed is not None else contextlib.nullcontext()
    with path.open("rb") as handle, hashing:
        while block := handle.read(_CHUNK):
            if feed is not None:
                feed.update(block)
            cut = block.rfind(b"\n") + 1
            if not cut:
                carry.append(block)
                continue
            region = b"".join((*carry, block[:cut])) if carry else block[:cut]
            carry = [block[cut:]] if cut < len(block) else []
            if first:  # the first region starts the file and holds any BOM whole
                region, first = region.removeprefix(BOM), False
            yield region
    tail = b"".join(carry)
    if first:
        tail = tail.removeprefix(BOM)
    if tail:
        yield tail + b"\n"


def _scan_region(scan: TextScan, region: bytes, quotes: bool) -> None:
    """``region`` holds whole lines, each ending in a newline."""
    base = scan.lines
    # vectorised: a line is empty when it holds nothing, or only a carriage return
    data = np.frombuffer(region, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    blank = (lengths == 0) | ((lengths == 1) & (data[starts] == 13))
    if blank.any():
        scan.blank_lines.extend((np.flatnonzero(blank) + base + 1).tolist())
    scan.lines += len(ends)
    if not scan.not_utf8 and not region.isascii():  # regions end at a newline: whole chars
        scan.not_utf8 = not is_utf8(data)
    if quotes and not scan.odd_quote_lines and b'"' in region:
        # keep only quotes and newlines: each line's quotes are then one run; removing pairs
        # leaves a quote exactly where a line had an odd number of them
        skeleton = region.translate(None, _NOT_QUOTE_OR_NEWLINE).replace(b'""', b"")
        scan.odd_quote_lines = b'"' in skeleton


def is_utf8(data: np.ndarray) -> bool:
    """Whether the bytes (a uint8 array) are valid UTF-8, decoding only their non-ASCII runs.

    A multi-byte character is made of bytes >= 0x80 only and an ASCII byte is always a whole
    character, so the bytes are UTF-8 exactly when every maximal run of bytes >= 0x80 is; the
    runs, joined by a newline each, decode as one string. Text with a few non-ASCII characters
    (search queries in an events log) is checked at the cost of a comparison over its bytes
    instead of a decode of all of it."""
    high = np.flatnonzero(data >= 0x80)
    if not len(high):
        return True
    if len(high) * 2 > len(data):  # mostly non-ASCII (Chinese text): decode it as it is
        runs = data
    else:  # a newline before each run that does not continue the previous one
        starts = np.flatnonzero(np.diff(high) > 1) + 1
        runs = np.insert(data[high], starts, 10)
    try:
        runs.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def odd_quote_lines(data: bytes) -> list[int]:
    """0-based numbers of the lines of ``data`` with an odd number of quotes."""
    skeleton = data.translate(None, _NOT_QUOTE_OR_NEWLINE).replace(b'""', b"")
    found, line, pos = [], 0, 0
    for m in _QUOTE.finditer(skeleton):
        line += skeleton.count(b"\n", pos, m.start())
        pos = m.start()
        found.append(line)
    return found


def escape_bytes(raw: bytes) -> str:
    """Text for ``raw`` that loses nothing: invalid UTF-8 bytes as ``\\xNN``; when there are
    any, backslashes are doubled so that the escaping can be undone."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.replace(b"\\", b"\\\\").decode("utf-8", errors="backslashreplace")


def lines_at(path: Path, numbers: Iterable[int]) -> dict[int, bytes]:
    """The physical lines with these 1-based numbers (without their line end)."""
    wanted = sorted(set(numbers))
    found: dict[int, bytes] = {}
    if not wanted:
        return found
    line = 1  # number of the line the next byte belongs to
    carry = b""
    with path.open("rb") as handle:
        while wanted and (block := handle.read(_CHUNK)):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            region, carry = data[:cut], data[cut:]
            last = line + region.count(b"\n") - 1  # lines complete in this region
            if wanted[0] <= last:
                for i, text in enumerate(region.split(b"\n")[:-1]):
                    if line + i == wanted[0]:
                        found[wanted.pop(0)] = text.rstrip(b"\r")
                        if not wanted:
                            break
            line = last + 1
    if wanted and wanted[0] == line and carry:
        found[wanted.pop(0)] = carry.rstrip(b"\r")
    return found


def parse_fields(text: str, delimiter: str) -> list[str]:
    """Fields of one record in the CSV dialect of good rows (RFC 4180 quotes, '""')."""
    if delimiter == " ":
        return text.split()
    if len(delimiter) > 1:  # e.g. MovieLens-1M '::' (no quoting in such files)
        return text.split(delimiter)
    reader = csv.reader([text], delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    row = next(reader, [])
    return list(row)


@dataclass
class Record:
    """One record of a hard file: its first physical line, fields or the reason it failed."""

    line: int
    raw: bytes
    fields: list[str] | None
    reason: str | None = None


def split_records(path: Path, delimiter: str, width: int, skip_lines: int) -> Iterator[Record]:
    """Records of a delimited file, quote-aware, surviving unclosed quotes (see module doc).

    ``width`` is the expected number of fields; ``skip_lines`` physical lines (the header)
    are not records."""
    data = path.read_bytes().removeprefix(BOM)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    n = len(lines)
    i = skip_lines
    while i < n:
        line = lines[i].rstrip(b"\r")
        if not line:
            i += 1
            continue
        end = i
        if line.count(b'"') % 2:
            parity = 1
            while parity and end + 1 < n:
                end += 1
                parity = (parity + lines[end].count(b'"')) % 2
            if parity:  # the quote is never closed: only this line is bad
                yield _record(i, line, delimiter, width, "unclosed quote")
                i += 1
                continue
        raw = b"\n".join(x.rstrip(b"\r") for x in lines[i : end + 1])
        record = _record(i, raw, delimiter, width)
        if record.reason is not None and end > i:  # a multi-line record that does not fit
            yield _record(i, line, delimiter, width, "unclosed quote")
            i += 1
            continue
        yield record
        i = end + 1


def _record(index: int, raw: bytes, delimiter: str, width: int, problem: str = "") -> Record:
    """A record from its bytes; ``reason`` says why it is rejected (None: good)."""
    text = escape_bytes(raw)
    reasons = [problem] if problem else []
    if text.encode() != raw:
        reasons.append("invalid UTF-8 (bytes kept escaped as \\xNN)")
    fields: list[str] | None
    try:
        fields = parse_fields(text, delimiter)
    except csv.Error as exc:
        fields = None
        reasons.append(f"malformed quotes ({exc})")
    if fields is not None and len(fields) != width:
        reasons.append(f"expected {width} fields, found {len(fields)}")
    return Record(index + 1, raw, fields, "; ".join(reasons) or None)


@dataclass
class Cleaned:
    """A copy of a hard file that DuckDB can read line by line (see :func:`clean_copy`)."""

    rejects: list[Record]  # lines that start no good record (blanked in the copy)
    continuation: list[int]  # physical lines that continue a multi-line record (blank now)
    newline: str | None  # stands for a newline inside joined records (None: none joined)


_PLACEHOLDERS = (b"\x1e", b"\x1d", b"\x1c")


def _emptied(line: bytes) -> bytes:
    """An empty line with the file's line ending (CRLF files stay CRLF throughout)."""
    return b"\r" if line.endswith(b"\r") else b""


def clean_copy(path: Path, out: Path, delimiter: str, width: int, skip_lines: int) -> Cleaned:
    """Write ``out``: ``path`` with the same physical lines, where every multi-line record
    that parses is joined onto its first line (its inner newlines replaced by a placeholder,
    the lines it continued left empty) and every line that starts no good record (see
    :func:`split_records`) is left empty. DuckDB then reads ``out`` at full speed and
    its line numbers stay physical."""
    data = path.read_bytes().removeprefix(BOM)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    placeholder = next((p for p in _PLACEHOLDERS if p not in data), None)
    cleaned = Cleaned([], [], None)
    odd = [i for i in odd_quote_lines(data) if i >= skip_lines]
    # parity flips only on odd lines: a record opened on one closes on the next one
    k = 0
    while k < len(odd):
        i = odd[k]
        record = None
        if k + 1 < len(odd) and placeholder is not None:
            end = odd[k + 1]
            raw = b"\n".join(x.rstrip(b"\r") for x in lines[i : end + 1])
            record = _record(i, raw, delimiter, width)
        if record is None or record.reason is not None:
            cleaned.rejects.append(
                _record(i, lines[i].rstrip(b"\r"), delimiter, width, "unclosed quote")
            )
            lines[i] = _emptied(lines[i])
            k += 1
            continue
        assert placeholder is not None
        lines[i] = placeholder.join(lines[i : end + 1])
        for j in range(i + 1, end + 1):
            lines[j] = _emptied(lines[j])
            cleaned.continuation.append(j + 1)
        cleaned.newline = placeholder.decode()
        k += 2
    out.write_bytes(b"\n".join(lines) + b"\n")
    return cleaned


def transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """A UTF-8 copy of ``path`` (text in ``encoding``: latin-1, cp1252, gbk, utf-16...) in the
    private ``workdir``, written in 4 MiB blocks; the lines stay the same lines. A byte the
    encoding does not define is an error naming its position (nothing is guessed)."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    out = workdir / ("utf8" + "".join(c for c in path.suffix if c.isalnum() or c == "."))
    offset = 0
    with path.open("rb") as source, out.open("wb") as sink:
        while True:
            block = source.read(_CHUNK)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"{path.name} is not {encoding} text: byte {offset + exc.start} "
                    f"({block[exc.start : exc.start + 1]!r}) is undefined there.",
                    file=str(path),
                    hint="Check the file's encoding (e.g. `file -i`); latin-1 reads any byte.",
                ) from exc
            except UnicodeError as exc:  # e.g. utf-16 without a byte-order mark
                raise IngestError(
                    f"{path.name} cannot be read as {encoding}: {exc}.",
                    file=str(path),
                    hint="Name the byte order (utf-16-le or utf-16-be) or check the encoding.",
                ) from exc
            sink.write((text.removeprefix("\ufeff") if offset == 0 else text).encode("utf-8"))
            offset += len(block)
            if not block:
                break
    return out


#: a valid UTF-8 sequence beyond ASCII (its presence means the file is UTF-8, some lines bad)
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
#: bytes Windows-1252 leaves undefined, and 0xFF ('ÿ'), which is far likelier a broken byte
_NOT_CP1252_TEXT = frozenset(b"\x81\x8d\x8f\x90\x9d\xff")


def single_byte_encoding(path: Path) -> str | None:
    """``'cp1252'`` when ``path`` is Western European Windows text rather than UTF-8 with
    broken lines: no valid multi-byte UTF-8 sequence anywhere, only bytes Windows-1252
    defines, and the bytes above 127 mostly alone between ASCII characters ('café',
    '£12.50'), as accented letters and symbols are. Double-byte Chinese (GBK) fails the
    last test: its bytes come in pairs."""
    runs: list[int] = []
    for region in _line_regions(path):
        if region.isascii():
            continue
        if _UTF8_MULTIBYTE.search(region):
            return None
        for m in _HIGH_RUN.finditer(region):
            if _NOT_CP1252_TEXT.intersection(m.group()):
                return None
            runs.append(len(m.group()))
    if not runs or max(runs) > 3 or sum(r == 1 for r in runs) < len(runs) / 2:
        return None
    return "cp1252"


def has_utf8_text(path: Path) -> bool:
    """Whether some line of ``path`` beyond ASCII is valid UTF-8 as a whole (then lines that
    are not are broken lines of a UTF-8 file; double-byte text such as GBK forms a valid
    UTF-8 pair now and then, but seldom a whole line of them)."""
    with path.open("rb") as handle:
        for line in handle:
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            return True
    return False
