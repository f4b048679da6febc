"""Office, OpenDocument and EPUB files whose text is known, made by each format's own
writer library, and hostile ones (zip bombs, entity attacks, truncated archives).

Why: tests and benchmarks judge the readers against the truth, and a file made by the
library people actually save with (python-docx, python-pptx, openpyxl, odfdo,
ebooklib) shows how it was made where a binary fixture would not. Every maker returns
`Made`: the words written (what recall is measured against), the headings (what
sections must show), a unique identifier written into the file (what `search` must
find first) and a topic sentence (what a vector search asked in other words must
find). Text comes from `harness.prose`, seeded by the file's name.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.prose import document_pages


@dataclass
class Made:
    path: Path
    text: str  # every word the file holds, as written
    headings: list[str]  # the section titles a reader should find
    ident: str  # a token found in this file only
    topic: str  # a sentence on the file's subject
    tables: list[list[list[str]]] = field(default_factory=list)  # each table's rows, header first
    locations: list[str] = field(default_factory=list)  # locations a reader should give


# One subject per format, so a vector search asked in other words can tell them apart.
TOPICS = {
    "docx": "The beekeeper lifts each frame from the hive to inspect the brood and the honey stores.",
    "pptx": "The quarterly roadmap presentation covers the launch of the new mobile banking app.",
    "xlsx": "Regional sales figures for the northern and southern warehouses are tallied each month.",
    "odt": "The recipe explains how to knead sourdough bread and let the dough rise overnight.",
    "odp": "The lecture slides describe how glaciers carve valleys during an ice age.",
    "ods": "The rainfall spreadsheet lists millimetres of rain measured at each weather station.",
    "epub": "The novel follows a lighthouse keeper who rescues sailors during a winter storm.",
}


def ident_for(name: str) -> str:
    """A token no other file holds (and no dictionary): what `search` must find first."""
    return "zx" + hashlib.sha1(name.encode()).hexdigest()[:10]


def paragraphs(name: str, n_pages: int = 2) -> list[str]:
    """Known prose in paragraphs of a few sentences, seeded by `name`."""
    out: list[str] = []
    for page in document_pages(name, n_pages):
        lines = page.split("\n")
        body = " ".join(lines[1:])
        sentences = [s.strip() + "." for s in body.split(".") if s.strip()]
        for i in range(0, len(sentences), 4):
            out.append(" ".join(sentences[i : i + 4]))
    return out


def _table(name: str) -> list[list[str]]:
    """A table of the file's own subject (every file holds one): sales are the
    workbook's alone and rainfall the ODS's, so that a question about either has one
    right file, and no two files hold the same table (identical text in two files is
    one search result with `copies`)."""
    ext = name.rsplit(".", 1)[-1]
    if ext == "xlsx":
        return [
            ["Region", "Sales", "Manager"],
            ["North", "1200", "Alvarez"],
            ["South", "950", "Okafor"],
            ["East", "1430", "Lindqvist"],
        ]
    if ext == "ods":
        return [
            ["Station", "Rainfall mm", "Observer"],
            ["Hilltop", "84", "Moreau"],
            ["Harbour", "112", "Nakamura"],
            ["Valley", "67", "Brennan"],
        ]
    return [
        ["Item", "Count", "Keeper"],
        ["Lanterns", "12", f"Keeper of {ext}"],
        ["Ropes", "9", "Okafor"],
        ["Ledgers", "14", "Lindqvist"],
    ]


def _plan(name: str, n_sections: int = 3, pages: int = 2) -> tuple[list[tuple[str, list[str]]], str, str]:
    """(heading, paragraphs) per section, the identifier and the topic sentence."""
    ext = name.rsplit(".", 1)[-1]
    ident = ident_for(name)
    topic = TOPICS.get(ext, TOPICS["docx"])
    paras = paragraphs(name, pages)
    per = max(1, len(paras) // n_sections)
    sections = []
    for i in range(n_sections):
        chunk = paras[i * per : (i + 1) * per] if i < n_sections - 1 else paras[i * per :]
        sections.append((f"Section {i + 1} {chunk[0].split()[0]} overview", chunk))
    sections[0][1].insert(0, f"{topic} Reference {ident}.")
    return sections, ident, topic


def _words(*parts: object) -> str:
    out: list[str] = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, list):
            out.append(_words(*p))
    return " ".join(out)


def make_docx(path: Path | str, pages: int = 2) -> Made:
    """A DOCX with a title, Heading 1/2 sections, paragraphs and a table (python-docx);
    `pages`: about how many pages of prose."""
    import docx

    path = Path(path)
    sections, ident, topic = _plan(path.name, max(3, pages // 2), pages)
    doc = docx.Document()
    title = f"Report {path.stem}"
    doc.add_heading(title, level=0)
    headings = [title]
    for i, (heading, paras) in enumerate(sections):
        doc.add_heading(heading, level=1 if i != 1 else 2)
        headings.append(heading)
        for p in paras:
            doc.add_paragraph(p)
    rows = _table(path.name)
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            table.cell(r, c).text = cell
    doc.save(str(path))
    text = _words(title, [[h, ps] for h, ps in sections], rows)
    return Made(path, text, headings, ident, topic, [rows])


def make_pptx(path: Path | str, n_slides: int = 4) -> Made:
    """A deck: title and body per slide, speaker notes, and a table on the last (python-pptx)."""
    from pptx import Presentation
    from pptx.util import Inches

    path = Path(path)
    sections, ident, topic = _plan(path.name, n_slides, max(2, n_slides // 2))
    prs = Presentation()
    headings: list[str] = []
    texts: list[object] = []
    locations: list[str] = []
    for i, (heading, paras) in enumerate(sections):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = heading
        body = slide.placeholders[1].text_frame
        body.text = paras[0]
        for p in paras[1:-1]:
            body.add_paragraph().text = p
        note = paras[-1] if len(paras) > 1 else f"Speaker note {i + 1}."
        slide.notes_slide.notes_text_frame.text = note
        headings.append(heading)
        texts += [heading, *paras[:-1], note]
        locations.append(f"slide {i + 1}")
    rows = _table(path.name)
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Stores on hand"
    shape = slide.shapes.add_table(len(rows), len(rows[0]), Inches(1), Inches(2), Inches(6), Inches(2))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            shape.table.cell(r, c).text = cell
    headings.append("Stores on hand")
    texts += ["Stores on hand", rows]
    locations.append(f"slide {len(sections) + 1}")
    prs.save(str(path))
    return Made(path, _words(texts), headings, ident, topic, [rows], locations)


def make_xlsx(path: Path | str, pages: int = 2) -> Made:
    """A workbook: a "Sales" sheet of a header and rows, and a "Notes" sheet of prose (openpyxl)."""
    from openpyxl import Workbook

    path = Path(path)
    sections, ident, topic = _plan(path.name, 1, pages)
    wb = Workbook()
    ws = wb.active
    ws.title = "Sales"
    rows = _table(path.name)
    for row in rows:
        ws.append([int(c) if c.isdigit() else c for c in row])
    notes = wb.create_sheet("Notes")
    notes.append(["Note"])
    paras = sections[0][1]
    for p in paras:
        notes.append([p])
    wb.save(str(path))
    return Made(
        path,
        _words(rows, "Note", paras),
        ["Sales", "Notes"],
        ident,
        topic,
        [rows],
        ["sheet Sales, rows 1-4", f"sheet Notes, rows 1-{len(paras) + 1}"],
    )


def make_odt(path: Path | str, pages: int = 2) -> Made:
    """An ODT with outline-level headings, paragraphs and a table (odfdo)."""
    from odfdo import Cell, Document, Header, Paragraph, Row, Table

    path = Path(path)
    sections, ident, topic = _plan(path.name, max(3, pages // 2), pages)
    doc = Document("text")
    body = doc.body
    headings = []
    for i, (heading, paras) in enumerate(sections):
        body.append(Header(1 if i != 1 else 2, heading))
        headings.append(heading)
        for p in paras:
            body.append(Paragraph(p))
    rows = _table(path.name)
    table = Table("Sales")
    for row in rows:
        r = Row()
        for cell in row:
            r.append_cell(Cell(cell))
        table.append_row(r)
    body.append(table)
    doc.save(str(path))
    text = _words([[h, ps] for h, ps in sections], rows)
    return Made(path, text, headings, ident, topic, [rows])


def make_odp(path: Path | str, n_slides: int = 3) -> Made:
    """A presentation: a title and text frame per slide, with notes (odfdo)."""
    from odfdo import Document, DrawPage, Frame

    path = Path(path)
    sections, ident, topic = _plan(path.name, n_slides, max(2, n_slides // 2))
    doc = Document("presentation")
    body = doc.body
    body.clear()  # the template's empty first page
    headings: list[str] = []
    texts: list[object] = []
    locations: list[str] = []
    for i, (heading, paras) in enumerate(sections):
        page = DrawPage(f"page{i + 1}", name=f"Slide {i + 1}")
        page.append(Frame.text_frame(heading, size=("20cm", "2cm"), position=("1cm", "1cm")))
        page.append(Frame.text_frame("\n".join(paras), size=("20cm", "12cm"), position=("1cm", "4cm")))
        body.append(page)
        headings.append(heading)
        texts += [heading, paras]
        locations.append(f"slide {i + 1}")
    doc.save(str(path))
    return Made(path, _words(texts), headings, ident, topic, [], locations)


def make_ods(path: Path | str, pages: int = 2) -> Made:
    """A spreadsheet: a "Sales" table of a header and rows, and a "Notes" one (odfdo)."""
    from odfdo import Document, Table

    path = Path(path)
    sections, ident, topic = _plan(path.name, 1, pages)
    doc = Document("spreadsheet")
    body = doc.body
    body.clear()
    rows = _table(path.name)
    sales = Table("Sales")
    sales.set_values([[int(c) if c.isdigit() else c for c in row] for row in rows])
    body.append(sales)
    paras = sections[0][1]
    notes = Table("Notes")
    notes.set_values([["Note"], *[[p] for p in paras]])
    body.append(notes)
    doc.save(str(path))
    return Made(
        path,
        _words(rows, "Note", paras),
        ["Sales", "Notes"],
        ident,
        topic,
        [rows],
        ["sheet Sales, rows 1-4", f"sheet Notes, rows 1-{len(paras) + 1}"],
    )


def make_epub(path: Path | str, n_chapters: int = 3, pages: int = 2) -> Made:
    """An EPUB 3 book of chapters with h1 titles and h2 subheadings, a script and a
    style that must not be read (ebooklib)."""
    from ebooklib import epub

    path = Path(path)
    sections, ident, topic = _plan(path.name, n_chapters, pages)
    book = epub.EpubBook()
    book.set_identifier(ident)
    book.set_title(f"Book {path.stem}")
    book.set_language("en")
    chapters: list[object] = []
    headings: list[str] = []
    texts: list[object] = []
    locations: list[str] = []
    for i, (heading, paras) in enumerate(sections):
        half = max(1, len(paras) // 2)
        sub = f"Part {i + 1} details"
        html = (
            f"<html><head><title>{heading}</title><style>p {{ color: red }}</style></head><body>"
            f"<script>var secretScriptWord = 'scriptonlytoken';</script>"
            f"<h1>{heading}</h1>{''.join(f'<p>{p}</p>' for p in paras[:half])}"
            f"<h2>{sub}</h2>{''.join(f'<p>{p}</p>' for p in paras[half:])}<!-- commentonlytoken --></body></html>"
        )
        chapter = epub.EpubHtml(title=heading, file_name=f"chap_{i + 1}.xhtml", lang="en")
        chapter.content = html
        book.add_item(chapter)
        chapters.append(chapter)
        headings.append(heading)
        texts += [heading, paras[:half], sub, paras[half:]]
        locations += [f"chapter {i + 1}"] * 2  # its h1 part and its h2 part
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = chapters
    epub.write_epub(str(path), book)
    return Made(path, _words(texts), headings, ident, topic, [], locations)


MAKERS: dict[str, Callable[[Path | str], Made]] = {
    "docx": make_docx,
    "pptx": make_pptx,
    "xlsx": make_xlsx,
    "odt": make_odt,
    "odp": make_odp,
    "ods": make_ods,
    "epub": make_epub,
}


def make_all(folder: Path | str, stem: str = "sample") -> dict[str, Made]:
    """One file of each format in `folder`, named STEM.EXT."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {ext: maker(folder / f"{stem}.{ext}") for ext, maker in MAKERS.items()}


# --- hostile files -----------------------------------------------------------------

# The part of each format that holds its text: where an attack is planted.
TEXT_PART = {
    "docx": "word/document.xml",
    "pptx": "ppt/slides/slide1.xml",
    "xlsx": "xl/worksheets/sheet1.xml",
    "odt": "content.xml",
    "odp": "content.xml",
    "ods": "content.xml",
    "epub": "EPUB/chap_1.xhtml",
}

SECRET = "secretfiletoken"  # what an external entity's target holds: never to be indexed


def replace_member(src: Path, dst: Path, member: str, data: bytes) -> Path:
    """A copy of the zip `src` with `member` replaced by `data` (or added)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != member:
                zout.writestr(info, zin.read(info.filename))
        zout.writestr(member, data)
    return dst


def billion_laughs(ext: str, folder: Path) -> Path:
    """The format's text part replaced by nested entities that expand to ~3 GB."""
    good = MAKERS[ext](folder / f"good_laughs.{ext}").path
    lol = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    data = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(lol)}]><root><p><t>&lol9;</t></p></root>'
    ).encode()
    return replace_member(good, folder / f"laughs.{ext}", TEXT_PART[ext], data)


def external_entity(ext: str, folder: Path, target: str) -> Path:
    """The format's text part replaced by one that pulls `target` (a file:// or http://
    URL) into its text through an external entity."""
    good = MAKERS[ext](folder / f"good_xxe.{ext}").path
    data = (
        f'<?xml version="1.0"?><!DOCTYPE root [<!ENTITY xxe SYSTEM "{target}">]>'
        "<root><p><t>before &xxe; after</t></p></root>"
    ).encode()
    name = "xxe_http" if target.startswith("http") else "xxe_file"
    return replace_member(good, folder / f"{name}.{ext}", TEXT_PART[ext], data)


def secret_file(folder: Path) -> Path:
    """A local file an external entity may try to read."""
    path = folder / "secret.txt"
    path.write_text(f"{SECRET}\n")
    return path


def zip_bomb(
    path: Path | str, size: int = 1_000_000_000, member: str = "word/document.xml", like: Path | None = None
) -> Path:
    """A small zip (~1 MB per GB) whose `member` honestly declares `size` bytes of
    spaces inside an XML element: a reader that inflates it whole needs `size` of
    memory. `like`: a good file whose other members the bomb keeps (so it is a real
    package of that format in every other way)."""
    path = Path(path)
    piece = b" " * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        if like is not None:
            with zipfile.ZipFile(like) as good:
                for info in good.infolist():
                    if info.filename != member:
                        z.writestr(info, good.read(info.filename))
        else:
            z.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types/>')
        with z.open(member, "w", force_zip64=True) as f:
            f.write(b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">')
            for _ in range(size // len(piece)):
                f.write(piece)
    return path


def lying_bomb(path: Path | str, size: int = 300_000_000, member: str = "word/document.xml") -> Path:
    """A zip whose member declares 1 KB inflated but inflates to `size` bytes: the
    central directory's and local header's sizes are rewritten after writing."""
    path = Path(path)
    zip_bomb(path, size, member)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo(member)
    # The zip64 extra fields hold the real sizes; rewrite every copy of the true size.
    true = info.file_size
    for width in (8, 4):
        if true >= 1 << (8 * width):
            continue
        needle = true.to_bytes(width, "little")
        start = 0
        while (at := data.find(needle, start)) >= 0:
            data[at : at + width] = (1024).to_bytes(width, "little")
            start = at + width
    path.write_bytes(bytes(data))
    return path


def truncated(ext: str, folder: Path) -> Path:
    """A good file of the format cut to its first half."""
    good = MAKERS[ext](folder / f"good_cut.{ext}").path
    data = good.read_bytes()
    path = folder / f"truncated.{ext}"
    path.write_bytes(data[: len(data) // 2])
    return path


def zip_of_other(path: Path | str) -> Path:
    """A file named like an Office document that is a zip of something else."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("readme.txt", "holiday photos\n")
        z.writestr("photo1.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 100)
    return path


def far_cell(path: Path | str) -> Path:
    """An XLSX with a cell at A1 and one at XFD1048576: a reader that makes the sheet a
    dense grid allocates 17 billion cells."""
    from openpyxl import Workbook

    path = Path(path)
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "Header"
    ws["A2"] = "near"
    ws["XFD1048576"] = "far"
    wb.save(str(path))
    return path


def repeated_rows(path: Path | str) -> Path:
    """An ODS whose one row of text repeats a million times across 16,384 columns."""
    path = Path(path)
    good = make_ods(path.with_name("good_repeat.ods")).path
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        b'<office:body><office:spreadsheet><table:table table:name="Big">'
        b'<table:table-row table:number-rows-repeated="1000000">'
        b'<table:table-cell table:number-columns-repeated="16384"><text:p>many</text:p></table:table-cell>'
        b"</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return replace_member(good, path, "content.xml", data)


def deep_nesting(path: Path | str, depth: int = 100_000) -> Path:
    """A DOCX whose body nests `depth` elements: a recursive reader overflows its stack."""
    path = Path(path)
    good = make_docx(path.with_name("good_deep.docx")).path
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    data = (
        f'<w:document xmlns:w="{w}"><w:body>'
        + "<w:sdt>" * depth
        + "</w:sdt>" * depth
        + "</w:body></w:document>"
    ).encode()
    return replace_member(good, path, "word/document.xml", data)


def _noise(count: int, template: bytes) -> bytes:
    """`count` copies of `template` each with a random 8-hex-digit `%s`: XML that packs
    no better than ~3:1, so no ratio check stops it before its parser does."""
    import os

    ids = os.urandom(4 * count).hex().encode()
    return b"".join(template % ids[i * 8 : i * 8 + 8] for i in range(count))


def element_flood(path: Path | str, count: int = 600_000) -> Path:
    """A DOCX whose one paragraph holds `count` empty runs (~10 MB inflated, under the
    member limit, packing ~3:1): a reader that keeps the paragraph's tree needs ~140
    bytes per run."""
    path = Path(path)
    good = make_docx(path.with_name("good_flood.docx")).path
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    head = f'<w:document xmlns:w="{w}"><w:body><w:p>'.encode()
    data = head + _noise(count, b'<w:r w:rsidR="%s"/>') + b"</w:p></w:body></w:document>"
    return replace_member(good, path, "word/document.xml", data)


def huge_slide(path: Path | str, count: int = 700_000) -> Path:
    """A PPTX whose first slide is ~30 MB of paragraphs (a part parsed whole)."""
    path = Path(path)
    good = make_pptx(path.with_name("good_huge.pptx")).path
    ns = (
        'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    )
    head = f"<p:sld {ns}><p:cSld><p:spTree><p:sp><p:txBody>".encode()
    body = _noise(count, b"<a:p><a:r><a:t>w%s</a:t></a:r></a:p>")
    data = head + body + b"</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
    return replace_member(good, path, "ppt/slides/slide1.xml", data)


def wide_rows(path: Path | str, rows: int = 20_000) -> Path:
    """An XLSX whose every row has a cell in column A and one in XFD: a reader that pads
    each row out to 16,384 columns spends ~1 ms a row (20 s here) on empty strings."""
    path = Path(path)
    good = make_xlsx(path.with_name("good_wide.xlsx")).path
    body = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>a%d</t></is></c>'
        b'<c r="XFD%d" t="inlineStr"><is><t>far</t></is></c></row>' % (i, i, i, i)
        for i in range(1, rows + 1)
    )
    data = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + body
        + b"</sheetData></worksheet>"
    )
    return replace_member(good, path, TEXT_PART["xlsx"], data)


def opener(ext: str) -> Callable[..., Any]:
    """Our reader of a made file's format, called directly (no sniffing): what the
    tests and the bench read each format with."""
    from longtask.readers import docx, epub, legacy, odf, pptx, xlsx

    return {
        "docx": docx.open_docx,
        "pptx": pptx.open_pptx,
        "xlsx": xlsx.open_xlsx,
        "odt": odf.open_odf,
        "odp": odf.open_odf,
        "ods": odf.open_odf,
        "epub": epub.open_epub,
        "doc": legacy.open_legacy,
    }[ext]
