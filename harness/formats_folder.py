"""A folder as people keep them: one file of every format longtask reads beside two PDFs,
a file of a type it does not read, and hostile files, each with what must be found in it.

Why one maker: the end-to-end test (`tests/test_formats_e2e.py`) runs it through
`longtask run`, `serve` uploads and PostgreSQL, and `bench/formats.py` reads the same
files; each good file carries an identifier found in no other file (what `search` must
rank first), its headings (what sections must show) and its topic asked in other words
(what a vector search must find in its top 3). The files come from each format's own
writer library (harness.office_files, harness.text_files); every topic differs, so a
vector search can tell them apart.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness import office_files as of
from harness import text_files as tf
from harness.pdfs import make_text_pdf


@dataclass(frozen=True)
class Good:
    path: Path
    ident: str  # in this file only
    question: str  # its topic, in other words
    headings: tuple[str, ...] = ()  # what must come back as sections
    location: str | None = None  # a location prefix one of its chunks must carry


@dataclass
class Mixed:
    folder: Path
    good: list[Good] = field(default_factory=list)
    hostile: list[Path] = field(default_factory=list)
    not_read: list[Path] = field(default_factory=list)
    never_indexed: tuple[str, ...] = ()  # words no chunk may hold


# The office makers' topics (harness.office_files.TOPICS), asked in other words.
OFFICE_QUESTIONS = {
    "docx": "checking the combs of a beehive for larvae and stored nectar",
    "pptx": "plans for releasing a smartphone application for a bank's customers",
    "xlsx": "how much each regional warehouse sold per month",  # every office file holds a sales table
    "odt": "how to make naturally leavened loaves at home",
    "odp": "how moving ice shapes mountain valleys",
    "ods": "precipitation amounts recorded by meteorological stations",
    "epub": "a tale of a coastal beacon attendant saving mariners in a blizzard",
}
# harness.text_files topics (scripts/sample_texts.py), one per format, asked in other words.
TEXT_FORMATS = {
    "html": ("volcanoes", "molten rock bursting out of a mountain"),
    "md": ("roman_aqueducts", "how ancient Rome carried water to its cities"),
    "txt": ("jazz_history", "the story of swing bands and improvised music"),
    "csv": ("chess_openings", "the first moves of a game on a board with kings and bishops"),
    "eml": ("photosynthesis", "how green leaves turn light into food"),
}
NOTICE = tf.Doc(
    "Car park closed for resurfacing",
    (
        (
            "Notice to residents",
            "The underground car park will be closed from Monday for resurfacing works. "
            "Please move every vehicle to the street before eight in the morning.",
        ),
    ),
    "vorpalwick",
)
PDF_TOPICS = {
    "telescopes.pdf": (
        "Telescopes gather faint starlight with large mirrors and lenses. Observatories on "
        "high mountains see distant galaxies and nebulae through thin dry air.",
        "instruments astronomers use to look at far away stars",
    ),
    "bicycles.pdf": (
        "Bicycle maintenance: oil the chain, true the wheels, adjust the brake pads and "
        "check tyre pressure before every long ride.",
        "keeping a bike's chain and brakes in good repair",
    ),
}
LEGACY_TEXT = (
    "Tide pools hold sea anemones, starfish and hermit crabs between the rocks.",
    "creatures living in rocky shore puddles left by the ocean",
)


def make_mixed(folder: Path, hostile: bool = True, legacy: bool = True) -> Mixed:
    """Fill `folder` (created) with one good file per format, two PDFs, a file of a type
    not read and, with `hostile`, one file per hostile case. `legacy`: a .doc too,
    converted by LibreOffice where `soffice` is installed."""
    folder.mkdir(parents=True, exist_ok=True)
    mixed = Mixed(folder)
    for ext, maker in of.MAKERS.items():
        made = maker(folder / f"office.{ext}")
        # sections from headings: the flowing formats (slides and sheets are located instead)
        headings = tuple(made.headings) if ext in ("docx", "odt", "epub") else ()
        mixed.good.append(Good(made.path, made.ident, OFFICE_QUESTIONS[ext], headings))
    for ext, (topic, question) in TEXT_FORMATS.items():
        ident = of.ident_for(f"text.{ext}")
        doc = tf.sample_doc(topic, ident, sections=3, words=120)
        path = folder / f"text.{ext}"
        if ext == "html":
            tf.make_html(path, doc)
        elif ext == "md":
            tf.make_markdown(path, doc)
        elif ext == "txt":
            tf.make_text(path, doc, encoding="cp1252")
        elif ext == "csv":
            tf.make_csv(path, doc)
        else:
            attached = Path(tempfile.mkdtemp()) / "minutes.txt"
            attached.write_text(f"Minutes of the garden committee. Reference {of.ident_for('attachment')}.\n")
            tf.make_eml(path, doc, [attached])
            mixed.good.append(Good(path, of.ident_for("attachment"), question, (), "attachment minutes.txt"))
        headings = tuple(doc.headings) if ext in ("html", "md") else ()
        mixed.good.append(Good(path, ident, question, headings))
    image = folder / "notice.png"
    tf.make_image(image, NOTICE)
    mixed.good.append(Good(image, NOTICE.identifier, "the garage for cars will be shut for repaving"))
    for name, (text, question) in PDF_TOPICS.items():
        ident = of.ident_for(name)
        make_text_pdf(folder / name, [f"{text} Reference {ident}."])
        mixed.good.append(Good(folder / name, ident, question))
    if legacy and shutil.which("soffice"):
        mixed.good.append(_legacy_doc(folder))
    psd = folder / "layers.psd"
    psd.write_bytes(b"8BPS\x00\x01" + b"\0" * 64)
    mixed.not_read.append(psd)
    mixed.never_indexed = (*tf.NEVER_INDEXED, tf.ALTERNATIVE_WORD, of.SECRET)
    if hostile:
        mixed.hostile = make_hostile(folder)
    return mixed


def _legacy_doc(folder: Path) -> Good:
    """A Word 97 .doc: a DOCX of its own topic, converted by LibreOffice."""
    import docx

    ident = of.ident_for("legacy.doc")
    text, question = LEGACY_TEXT
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "legacy.docx"
        document = docx.Document()
        document.add_heading("Rocky shores", level=1)
        document.add_paragraph(f"{text} Reference {ident}.")
        document.save(str(source))
        subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{scratch}/profile", "--headless", "--convert-to", "doc",
             "--outdir", str(folder), str(source)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    return Good(folder / "legacy.doc", ident, question)


def make_hostile(folder: Path) -> list[Path]:
    """One file per hostile case the issue names, each of which must end dead (made in a
    scratch folder, so the good copies the makers start from stay out of `folder`)."""
    out: list[Path] = []
    with tempfile.TemporaryDirectory() as s:
        scratch = Path(s)
        secret = of.secret_file(scratch)
        made = [
            of.billion_laughs("docx", scratch),
            of.external_entity("odt", scratch, f"file://{secret}"),
            of.external_entity("pptx", scratch, "http://127.0.0.1:9/secret"),
            of.zip_bomb(scratch / "bomb.docx", 200_000_000, like=of.make_docx(scratch / "like.docx").path),
            of.truncated("xlsx", scratch),
            of.zip_of_other(scratch / "photos.docx"),
        ]
        for path in made:
            target = folder / f"hostile_{path.name}"
            shutil.move(str(path), target)
            out.append(target)
    out.append(tf.make_deep_html(folder / "hostile_deep.html"))
    out.append(tf.make_many_page_tiff(folder / "hostile_fax.tiff"))
    binary = folder / "hostile_binary.txt"
    binary.write_bytes(b"\x00\x01\x02\x03" * 256)
    out.append(binary)
    return out
