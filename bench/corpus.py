"""A deterministic corpus of prose PDFs for the benchmarks.

The text comes from an order-2 word Markov chain over the prose of the sample documents
(scripts/sample_texts.py), so pages have the vocabulary, sentence length and token
density of real documents, yet no two pages are alike: nothing is a cache hit by
accident. Each file is seeded from its own name and reportlab writes in invariant mode,
so a rebuild is byte-identical; a finished set is reused while its `.complete` marker
matches the parameters it was built with.
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
import shutil
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SEED = 20240611
WORDS_PER_PAGE = (260, 380)  # a typical book or report page; A4 holds ~600 at 11 pt
VERSION = 1  # bump when the text or layout changes, so old sets are rebuilt

_END = (".", "?", "!")


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _sources() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    texts: dict[str, tuple[str, list[tuple[str, str]]]] = _load(
        ROOT / "scripts" / "sample_texts.py", "bench_sample_texts"
    ).SAMPLE_TEXTS
    return texts


@cache
def _make_text_pdf() -> object:
    return _load(ROOT / "tests" / "corpus" / "make_hostile.py", "bench_make_hostile").make_text_pdf


def _latin1(text: str) -> str:
    # The PDFs use the built-in Helvetica, which only shows Latin-1.
    return text.replace("\u2013", "-").replace("\u2014", "-").encode("latin-1", "ignore").decode("latin-1")


def queries() -> list[str]:
    """Search queries for the quality check: the sample documents' section headings."""
    return [_latin1(heading) for _, sections in _sources().values() for heading, _ in sections]


class Prose:
    """Sentences from an order-2 word chain; every sentence starts at a real sentence start."""

    def __init__(self) -> None:
        self.chain: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.topics: list[tuple[str, list[tuple[str, str]]]] = []  # title, sentence starts
        for title, sections in _sources().values():
            starts: list[tuple[str, str]] = []
            for _, text in sections:
                words = _latin1(text).split()
                for i in range(len(words) - 2):
                    self.chain[(words[i], words[i + 1])].append(words[i + 2])
                    if i == 0 or words[i - 1].endswith(_END):
                        starts.append((words[i], words[i + 1]))
            self.topics.append((_latin1(title), starts))

    def sentence(self, rng: random.Random, starts: list[tuple[str, str]]) -> list[str]:
        words = list(rng.choice(starts))
        while not words[-1].endswith(_END):
            followers = self.chain.get((words[-2], words[-1]))
            if not followers or len(words) > 60:
                words[-1] = words[-1].rstrip(",;:") + "."
                break
            words.append(rng.choice(followers))
        return words

    def page(self, rng: random.Random, topic: int, title: str | None = None) -> str:
        """About WORDS_PER_PAGE words, mostly on one topic, with a few sentences from others."""
        target = rng.randint(*WORDS_PER_PAGE)
        paragraphs: list[str] = [title] if title else []
        count = 0
        while count < target:
            para: list[str] = []
            for _ in range(rng.randint(3, 7)):
                other = rng.random() < 0.2
                para += self.sentence(
                    rng, self.topics[rng.randrange(len(self.topics)) if other else topic][1]
                )
            para = para[: target - count] if count + len(para) > target + 40 else para
            count += len(para)
            paragraphs.append(" ".join(para))
        return "\n".join(paragraphs)


@cache
def _prose() -> Prose:
    return Prose()


def _rng(name: str) -> random.Random:
    digest = hashlib.sha256(f"{SEED}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def document_pages(name: str, n_pages: int) -> list[str]:
    rng = _rng(name)
    prose = _prose()
    topic = rng.randrange(len(prose.topics))
    title = f"{prose.topics[topic][0]} (volume {rng.randint(1, 99)})"
    return [prose.page(rng, topic, title if i == 0 else None) for i in range(n_pages)]


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
    folder = OUT / "corpus" / name
    stamp = f"v{VERSION} seed={SEED} files={n_files} pages={pages_each} shared={shared}"
    files = [folder / f"{name}-{i:05d}.pdf" for i in range(n_files)]
    if not _reuse(folder, stamp):
        make_text_pdf = _make_text_pdf()
        boilerplate = document_pages(f"{name}-boilerplate", shared) if shared else []
        for path in files:
            pages = boilerplate + document_pages(path.stem, pages_each - shared)
            make_text_pdf(path, pages)  # type: ignore[operator]
        (folder / ".complete").write_text(stamp)
    return Corpus(folder, files, n_files * pages_each)


def tiny_copies(n_files: int, originals: int = 4) -> Corpus:
    """`n_files` one-page PDFs: copies of a few, each with a distinct trailing comment.

    Bytes after %%EOF are ignored by readers, so each copy is a valid PDF with its own hash.
    """
    name = f"tiny-{n_files}"
    folder = OUT / "corpus" / name
    stamp = f"v{VERSION} seed={SEED} files={n_files} originals={originals}"
    files = [folder / f"{name}-{i:05d}.pdf" for i in range(n_files)]
    if not _reuse(folder, stamp):
        make_text_pdf = _make_text_pdf()
        bases = []
        for i in range(originals):
            path = folder / f"original-{i}.pdf"
            make_text_pdf(path, document_pages(f"{name}-original-{i}", 1))  # type: ignore[operator]
            bases.append(path.read_bytes())
            path.unlink()
        for i, path in enumerate(files):
            path.write_bytes(bases[i % originals] + f"% bench copy {i}\n".encode())
        (folder / ".complete").write_text(stamp)
    return Corpus(folder, files, n_files)
