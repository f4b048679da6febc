"""Prose with the vocabulary, sentence length and token density of real documents.

The text comes from an order-2 word Markov chain over the prose of the sample documents
(scripts/sample_texts.py), so no two pages are alike: nothing is a cache hit by
accident. Each document is seeded from its own name, so the same name gives the same
text on every machine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
from collections import defaultdict
from functools import cache

from harness import ROOT

# Short texts of the kinds an engine must embed alike (a question, code, German, an
# error code, French): what the engine tests compare engines on.
SENTENCES = [
    "How do I replace the filter cartridge on the pump?",
    "def load_order(path): reads the order file and validates every line",
    "Die Pumpe muss vor jeder Wartung vom Netz getrennt werden.",
    "Error E-2041 means the encoder cable is loose.",
    "Les abeilles communiquent par la danse.",
]
SEED = 20240611
WORDS_PER_PAGE = (260, 380)  # a typical book or report page; A4 holds ~600 at 11 pt

_END = (".", "?", "!")


@cache
def _sources() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """scripts/sample_texts.py's SAMPLE_TEXTS, loaded by path (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location(
        "harness_sample_texts", ROOT / "scripts" / "sample_texts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    texts: dict[str, tuple[str, list[tuple[str, str]]]] = module.SAMPLE_TEXTS
    return texts


def _latin1(text: str) -> str:
    # The PDFs use the built-in Helvetica, which only shows Latin-1.
    return text.replace("\u2013", "-").replace("\u2014", "-").encode("latin-1", "ignore").decode("latin-1")


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
def prose() -> Prose:
    """The one chain, built on first use."""
    return Prose()


def seeded(name: str) -> random.Random:
    """A generator seeded from `name` alone: the same name, the same text."""
    digest = hashlib.sha256(f"{SEED}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def document_pages(name: str, n_pages: int) -> list[str]:
    """The page texts of the document called `name`: one topic, a title on page 1."""
    rng = seeded(name)
    chain = prose()
    topic = rng.randrange(len(chain.topics))
    title = f"{chain.topics[topic][0]} (volume {rng.randint(1, 99)})"
    return [chain.page(rng, topic, title if i == 0 else None) for i in range(n_pages)]
