"""Real HTML, Markdown, text, CSV, e-mail and image files whose text is known, and
hostile ones.

Why: the readers are judged against the truth (word recall, sections from headings,
what must never be indexed), and the end-to-end test and `bench/formats.py` need a
file of each format with a unique identifier and a topic to search for. Each maker
writes the file the way that format's own tools do (the `email` package for .eml,
Pillow with a TrueType font for images, `csv` for CSV) from one `Doc`: a title,
sections of (heading, text) and an identifier word found nowhere else.

Hostile makers write what must end dead or read in bounded memory: a 500 MB text of
one line (streamed to disk, never held), an HTML page nested 100,000 deep, a TIFF of
10,000 small pages, text in broken encodings.
"""

from __future__ import annotations

import csv
import importlib.util
import io
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path

from harness import ROOT

# Words that must never be indexed: they sit only in script, style, comments,
# templates, hidden inputs and the HTML alternative of an e-mail.
SCRIPT_WORD = "scriptonlyqzx"
STYLE_WORD = "styleonlyqzx"
COMMENT_WORD = "commentonlyqzx"
TEMPLATE_WORD = "templateonlyqzx"
HIDDEN_WORD = "hiddenonlyqzx"
ALTERNATIVE_WORD = "htmlalternativeqzx"
NEVER_INDEXED = (SCRIPT_WORD, STYLE_WORD, COMMENT_WORD, TEMPLATE_WORD, HIDDEN_WORD)

FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


@dataclass(frozen=True)
class Doc:
    """What a made file says: its title, its sections (heading, text), and an
    identifier that no other file holds."""

    title: str
    sections: tuple[tuple[str, str], ...]
    identifier: str

    @property
    def headings(self) -> list[str]:
        return [h for h, _ in self.sections]

    def text(self) -> str:
        """Every word a reader must find: title, headings and texts, and the identifier
        (once: `sample_doc` puts it in the first paragraph)."""
        parts = [self.title]
        if not any(self.identifier in body for _, body in self.sections):
            parts.append(self.identifier)
        for heading, body in self.sections:
            parts += [heading, body]
        return "\n".join(parts)


@cache
def _samples() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    spec = importlib.util.spec_from_file_location(
        "harness_sample_texts_tf", ROOT / "scripts" / "sample_texts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    texts: dict[str, tuple[str, list[tuple[str, str]]]] = module.SAMPLE_TEXTS
    return texts


def topics() -> list[str]:
    """The topics a Doc can be about (scripts/sample_texts.py's keys)."""
    return list(_samples())


def sample_doc(topic: str, identifier: str, sections: int = 3, words: int | None = None) -> Doc:
    """A Doc on `topic` (one of `topics()`): its title and first `sections` sections,
    each cut to `words` words where given, with `identifier` in the first paragraph."""
    title, found = _samples()[topic]
    chosen = []
    for i, (heading, text) in enumerate(found[:sections]):
        body = " ".join(text.split())
        if words is not None:
            body = " ".join(body.split()[:words])
        if i == 0:
            body = f"Reference {identifier}. {body}"
        chosen.append((heading, body))
    return Doc(title, tuple(chosen), identifier)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def make_html(path: Path, doc: Doc) -> Path:
    """A web page as people save them: head with style and script, a comment, a
    template and a hidden input (none of which is text), h1/h2 headings, a table."""
    body = [f"<h1>{_esc(doc.title)}</h1>"]
    for heading, text in doc.sections:
        body.append(f"<h2>{_esc(heading)}</h2>")
        sentences = text.split(". ")
        half = len(sentences) // 2
        body.append(f"<p>{_esc('. '.join(sentences[:half]))}.</p>" if half else "")
        body.append(f"<div class='x'><span>{_esc('. '.join(sentences[half:]))}</span></div>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(doc.title)}</title>
<style>body {{ font-family: serif }} /* {STYLE_WORD} */</style>
<script>var x = "{SCRIPT_WORD}"; document.title = x;</script></head>
<body><nav><a href="#top">Top</a></nav>
<!-- {COMMENT_WORD} -->
<form><input type="hidden" name="csrf" value="{HIDDEN_WORD}"></form>
<template><p>{TEMPLATE_WORD}</p></template>
{"".join(body)}
<script type="text/javascript">console.log("{SCRIPT_WORD}")</script>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path


def table_html(path: Path, rows: list[tuple[str, str, str]], header: tuple[str, str, str]) -> Path:
    """A page holding one table, to check each cell is read beside its header."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    path.write_text(
        f"<html><body><h1>Table</h1><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>",
        encoding="utf-8",
    )
    return path


def make_markdown(path: Path, doc: Doc) -> Path:
    """Markdown with YAML front matter, `#`/`##` headings, a fenced code block."""
    lines = ["---", f"title: {doc.title}", "tags: [notes]", "---", "", f"# {doc.title}", ""]
    for heading, text in doc.sections:
        lines += [f"## {heading}", "", text, ""]
    lines += ["```", f"grep {doc.identifier} notes.md", "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def make_text(path: Path, doc: Doc, encoding: str = "utf-8") -> Path:
    """Plain text in `encoding` (with a BOM for "utf-16"/"utf-8-sig", as Windows
    writes them): the title, each heading on its own line, paragraphs."""
    parts = [doc.title, ""]
    for heading, text in doc.sections:
        parts += [heading, "", text, ""]
    path.write_bytes("\n".join(parts).encode(encoding))
    return path


def make_csv(path: Path, doc: Doc, delimiter: str = ",") -> Path:
    """A CSV of one row per sentence: section, number, text (quoted where needed)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["Section", "Sentence", "Text"])
    writer.writerow([doc.title, 0, doc.identifier])
    for heading, text in doc.sections:
        for n, sentence in enumerate(text.split(". "), start=1):
            writer.writerow([heading, n, sentence])
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return path


def csv_truth(doc: Doc) -> str:
    """What a CSV made from `doc` says, headers included once per row as the reader gives them."""
    return doc.text()


def make_eml(path: Path, doc: Doc, attachments: Sequence[Path] = ()) -> Path:
    """An e-mail as mail programs send it: plain text with an HTML alternative (which
    carries ALTERNATIVE_WORD and a script, never to be indexed), then attachments."""
    msg = EmailMessage()
    msg["Subject"] = doc.title
    msg["From"] = "Ada Lovelace <ada@example.org>"
    msg["To"] = "Charles Babbage <charles@example.org>"
    msg["Date"] = "Mon, 07 Dec 2026 09:30:00 +0000"
    plain = "\n\n".join(f"{h}\n\n{t}" for h, t in doc.sections)
    msg.set_content(plain)
    html = "".join(f"<h2>{_esc(h)}</h2><p>{_esc(t)}</p>" for h, t in doc.sections)
    msg.add_alternative(
        f"<html><body><p>{ALTERNATIVE_WORD}</p>{html}<script>{SCRIPT_WORD}</script></body></html>",
        subtype="html",
    )
    for attachment in attachments:
        kind = {".pdf": ("application", "pdf"), ".txt": ("text", "plain"), ".png": ("image", "png")}
        maintype, subtype = kind.get(attachment.suffix, ("application", "octet-stream"))
        data = attachment.read_bytes()
        if maintype == "text":
            msg.add_attachment(data.decode("utf-8"), subtype=subtype, filename=attachment.name)
        else:
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment.name)
    path.write_bytes(bytes(msg))
    return path


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    for name in FONTS:
        if Path(name).exists():
            return ImageFont.truetype(name, size)
    return ImageFont.load_default(size=size)


def render_lines(lines: list[str], width: int = 1700, size: int = 34):  # type: ignore[no-untyped-def]
    """Lines of text drawn black on white, wrapped to `width` pixels, as a grayscale
    page (a clean scan of ~300 dpi print: 34 px letters)."""
    from PIL import Image, ImageDraw

    font = _font(size)
    wrapped: list[str] = []
    for line in lines:
        words, current = line.split(), ""
        for word in words:
            trial = f"{current} {word}".strip()
            if font.getlength(trial) > width - 160 and current:
                wrapped.append(current)
                current = word
            else:
                current = trial
        wrapped.append(current)
    leading = int(size * 1.5)
    image = Image.new("L", (width, 160 + leading * len(wrapped)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(wrapped):
        draw.text((80, 80 + i * leading), line, fill=0, font=font)
    return image


def image_doc(doc: Doc, words: int = 60) -> Doc:
    """A Doc short enough to fit an image page: each section cut to `words` words."""
    return Doc(doc.title, tuple((h, " ".join(t.split()[:words])) for h, t in doc.sections), doc.identifier)


def make_image(path: Path, doc: Doc) -> Path:
    """A PNG, JPEG or TIFF (by suffix) of the Doc's text; a TIFF has one page per
    section (the title and identifier on the first)."""
    pages = [[doc.title, doc.identifier, *doc.sections[0]]] + [[h, t] for h, t in doc.sections[1:]]
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        frames = [render_lines(p) for p in pages]
        frames[0].save(
            path, save_all=True, append_images=frames[1:], compression="tiff_deflate", dpi=(300, 300)
        )
        return path
    image = render_lines([line for p in pages for line in p])
    if suffix in (".jpg", ".jpeg"):
        image.save(path, quality=90, dpi=(300, 300))
    else:
        image.save(path, dpi=(300, 300))
    return path


# ---- hostile ---------------------------------------------------------------------


def peak_mb() -> float:
    """This process's peak resident memory in MB: VmHWM, which a new program starts
    afresh. (`ru_maxrss` of a child carries its parent's peak across fork and exec, so
    a child of a 400 MB pytest reports 400 MB whatever it does.)"""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_long_line(path: Path, size: int = 500_000_000, spaces: bool = True) -> Path:
    """A text file of one line of `size` bytes, streamed to disk 1 MiB at a time:
    words separated by spaces, or (spaces=False) one unbroken run of letters."""
    block = (b"lorem ipsum dolor sit amet " * 40_000)[: 1 << 20] if spaces else b"x" * (1 << 20)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)
    return path


def make_deep_html(path: Path, depth: int = 100_000) -> Path:
    """An HTML page of `depth` nested <div>s around one word."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("<html><body><p>before the depths</p>")
        f.write("<div>" * depth)
        f.write("deepest")
        f.write("</div>" * depth)
        f.write("</body></html>")
    return path


def make_many_page_tiff(path: Path, pages: int = 10_000) -> Path:
    """A multi-page TIFF of `pages` blank 8 x 8 bilevel frames (~1 MB), written by hand:
    every IFD points at the same 8-byte strip. (Pillow's `save_all` takes minutes for
    10,000 frames.)"""
    import struct

    strip = 8  # offset of the pixel data, right after the header
    first_ifd = strip + 8
    entries = [  # tag, type (3 SHORT, 4 LONG), value
        (256, 3, 8),  # ImageWidth
        (257, 3, 8),  # ImageLength
        (258, 3, 1),  # BitsPerSample
        (259, 3, 1),  # Compression: none
        (262, 3, 1),  # Photometric: black is zero
        (273, 4, strip),  # StripOffsets
        (277, 3, 1),  # SamplesPerPixel
        (278, 3, 8),  # RowsPerStrip
        (279, 4, 8),  # StripByteCounts
    ]
    size = 2 + 12 * len(entries) + 4
    with open(path, "wb") as f:
        f.write(b"II*\x00" + struct.pack("<I", first_ifd) + b"\xff" * 8)
        for n in range(pages):
            f.write(struct.pack("<H", len(entries)))
            for tag, kind, value in entries:
                f.write(
                    struct.pack("<HHI", tag, kind, 1)
                    + struct.pack("<HH" if kind == 3 else "<I", *((value, 0) if kind == 3 else (value,)))
                )
            f.write(struct.pack("<I", first_ifd + (n + 1) * size if n + 1 < pages else 0))
    return path


def make_png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares `width` x `height` pixels (a decompression bomb's header)
    over a few bytes of data: whoever decodes it trusts the header or checks it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )
    return path


def make_broken_encodings(folder: Path) -> dict[str, Path]:
    """Text files whose bytes lie: UTF-8 with stray invalid bytes, UTF-16 cut in the
    middle of a character, Latin-1 with no declaration, and a NUL-laden 'text'."""
    folder.mkdir(parents=True, exist_ok=True)
    good = "Der Müller in Köln sah die Straße, und sie sagte «très bien». "
    out = {
        "utf8_stray": folder / "utf8_stray.txt",
        "utf16_cut": folder / "utf16_cut.txt",
        "latin1": folder / "latin1.txt",
        "binary": folder / "binary.txt",
    }
    out["utf8_stray"].write_bytes(good.encode() * 20 + b"\xff\xfe\xc3" + good.encode() * 20)
    out["utf16_cut"].write_bytes((good * 20).encode("utf-16")[:-1])
    out["latin1"].write_bytes((good * 20).encode("latin-1"))
    out["binary"].write_bytes(b"\x00\x01\x02 not really text \x00" * 100)
    return out
