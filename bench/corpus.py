"""A deterministic corpus of prose PDFs for the benchmarks, under bench/out/corpus.

The text is the harness's prose (`harness.prose`): pages with the vocabulary, sentence
length and token density of real documents, no two alike. Each file is seeded from its
own name and reportlab writes in invariant mode, so a rebuild is byte-identical; a
finished set is reused while its `.complete` marker matches the parameters it was built
with.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from harness import ROOT
from harness.prose import SEED, document_pages

OUT = ROOT / "bench" / "out"
VERSION = 1  # bump when the text or layout changes, so old sets are rebuilt


@dataclass(frozen=True)
class Corpus:
    folder: Path
    files: list[Path]
    pages: int


def _reuse(folder: Path, stamp: str) -> bool:
    marker = folder / ".complete"
    if marker.exists() and marker.read_text() == stamp:
        return True
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return False


def build(name: str, n_files: int, pages_each: int, shared: int = 0) -> Corpus:
    """`n_files` PDFs of `pages_each` pages under bench/out/corpus/NAME.

    With `shared`, every file opens with the same `shared` pages (boilerplate: a cover
    page, terms and conditions), followed by pages of its own.
    """
    from harness.pdfs import make_text_pdf

    folder = OUT / "corpus" / name
    stamp = f"v{VERSION} seed={SEED} files={n_files} pages={pages_each} shared={shared}"
    files = [folder / f"{name}-{i:05d}.pdf" for i in range(n_files)]
    if not _reuse(folder, stamp):
        boilerplate = document_pages(f"{name}-boilerplate", shared) if shared else []
        for path in files:
            pages = boilerplate + document_pages(path.stem, pages_each - shared)
            make_text_pdf(path, pages)
        (folder / ".complete").write_text(stamp)
    return Corpus(folder, files, n_files * pages_each)


def tiny_copies(n_files: int, originals: int = 4) -> Corpus:
    """`n_files` one-page PDFs: copies of a few, each with a distinct trailing comment.

    Bytes after %%EOF are ignored by readers, so each copy is a valid PDF with its own hash.
    """
    from harness.pdfs import make_text_pdf

    name = f"tiny-{n_files}"
    folder = OUT / "corpus" / name
    stamp = f"v{VERSION} seed={SEED} files={n_files} originals={originals}"
    files = [folder / f"{name}-{i:05d}.pdf" for i in range(n_files)]
    if not _reuse(folder, stamp):
        bases = []
        for i in range(originals):
            path = folder / f"original-{i}.pdf"
            make_text_pdf(path, document_pages(f"{name}-original-{i}", 1))
            bases.append(path.read_bytes())
            path.unlink()
        for i, path in enumerate(files):
            path.write_bytes(bases[i % originals] + f"% bench copy {i}\n".encode())
        (folder / ".complete").write_text(stamp)
    return Corpus(folder, files, n_files)
