"""Images (PNG, JPEG, TIFF with any number of pages): read by OCR, one unit per frame.

An image has no text layer, so OCR is its only reading: with `--ocr auto` (the
default) and `always` every frame is OCR'd, as a scanned PDF page would be. With
`--ocr never` the user has said OCR costs too much: the image is not OCR'd, its units
are empty and the document's warning says how to read it (the PDF reader treats a
scanned page the same way), rather than a dead document or a silent pass.

Pillow decodes: its decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`, 89 M pixels
warns, twice that refuses) is respected for every frame, not only the first, and a
frame larger than `ocr.MAX_SIDE` is scaled down before OCR (a JPEG is decoded at the
reduced scale directly, `draft`). A multi-page TIFF is walked frame by frame, never
loaded whole; at most `MAX_FRAMES` frames are read: a real scan or fax runs to tens
or a few hundred pages, and at ~2 s of OCR a frame, 500 frames is already a quarter
hour of one worker. A file with more ends dead with that reason, once, at open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Limits, Unit
from longtask.readers.cleantext import clean
from longtask.readers.ocr import DPI, MAX_SIDE, OcrMode

MAX_FRAMES = 500


def _bomb_errors() -> tuple[type[BaseException], ...]:
    from PIL import Image

    return (Image.DecompressionBombError, Image.DecompressionBombWarning)


def _too_large(shown: str, e: BaseException) -> DocumentError:
    return DocumentError(
        shown,
        f"is an image too large to decode safely ({e})",
        "check where it came from, or scale it down (longtask reads images up to ~89 M pixels)",
    )


@dataclass
class Picture:
    """An open image file (a `Reader`): one unit per frame, OCR'd on reading."""

    path: str | bytes
    image: Any  # PIL.Image.Image, kept open: a TIFF's frames are found by seeking
    frames: int
    limits: Limits
    empty: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def ocr_on(self) -> bool:
        return self.limits.ocr != OcrMode.never and self.limits.ocr_engine is not None

    def units(self) -> int:
        return self.frames

    def warning(self) -> str | None:
        if not self.ocr_on:
            return "an image has text only through OCR, and OCR is off: resubmit with --ocr auto"
        parts = []
        if self.failed:
            number, why = next(iter(self.failed.items()))
            parts.append(f"OCR failed on {len(self.failed)} frame(s) (frame {number}: {why})")
        if self.empty:
            parts.append(f"OCR found no text in {len(self.empty)} frame(s)")
        return "; ".join(parts) or None

    def close(self) -> None:
        if self.image is not None:
            self.image.close()
            self.image = None

    def frame(self, index: int) -> tuple[Any, int]:
        """Frame `index` as a grayscale image no larger than MAX_SIDE, and its dpi."""
        import warnings

        from PIL import Image, ImageOps

        shown = files.shown(self.path)
        im = self.image
        try:
            im.seek(index)
            width, height = im.size
            if width * height > 2 * (Image.MAX_IMAGE_PIXELS or 1 << 62):
                raise Image.DecompressionBombError(f"frame {index + 1} is {width} x {height} pixels")
            if im.format == "JPEG" and max(width, height) > MAX_SIDE:
                im.draft("L", (MAX_SIDE, MAX_SIDE))
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im.load()
            frame = ImageOps.exif_transpose(im) if im.format == "JPEG" else im
            frame = frame.convert("L")
        except _bomb_errors() as e:
            raise _too_large(shown, e) from None
        dpi = im.info.get("dpi", (DPI, DPI))[0]
        dpi = round(float(dpi)) if 70 <= float(dpi or 0) <= 1200 else DPI
        if max(frame.size) > MAX_SIDE:
            scale = MAX_SIDE / max(frame.size)
            frame = frame.resize((max(1, round(frame.width * scale)), max(1, round(frame.height * scale))))
            dpi = max(70, round(dpi * scale))
        return frame, dpi

    def read(self, index: int) -> Unit:
        """Frame `index`, OCR'd where the limits allow. Raises DocumentError for a frame
        past Pillow's decompression-bomb limit."""
        number = index + 1
        where = f"frame {number}" if self.frames > 1 else None
        engine = self.limits.ocr_engine
        if not self.ocr_on or engine is None:
            return Unit(number, "", location=where)
        try:
            frame, dpi = self.frame(index)
        except DocumentError:
            raise
        except Exception as e:  # noqa: BLE001 - a frame Pillow cannot decode (or its EXIF) costs that frame
            self.failed[number] = f"{type(e).__name__}: {e}"[:200]
            return Unit(number, "", location=where)
        try:
            text, confidence = engine.read_image(frame, dpi)
        except Exception as e:  # noqa: BLE001 - the engine's failure on one frame is that frame's
            self.failed[number] = f"{type(e).__name__}: {e}"[:200]
            return Unit(number, "", location=where)
        text = clean(text)
        if not text:
            self.empty.append(number)
        return Unit(number, text, ocr=bool(text), confidence=confidence, location=where)


def count_frames(image: Any, cap: int) -> int:
    """How many frames the image has, looking at no more than `cap` + 1 of them."""
    frames = 1
    try:
        while frames <= cap:
            image.seek(frames)
            frames += 1
    except EOFError:
        pass
    image.seek(0)
    return frames


def open_image(path: str | bytes, limits: Limits = Limits()) -> Picture:
    """Open an image. Raises DocumentError if it is empty, not an image Pillow decodes,
    past the decompression-bomb limit, or a TIFF of more than MAX_FRAMES frames."""
    from PIL import Image, UnidentifiedImageError

    shown = files.shown(path)
    with files.reading(shown):
        if os.stat(path).st_size == 0:
            raise DocumentError(shown, "is empty (0 bytes)", "re-copy the file, or remove it from the folder")
    try:
        with files.reading(shown):
            image = Image.open(os.fsdecode(path))
    except _bomb_errors() as e:
        raise _too_large(shown, e) from None
    except (UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise DocumentError(
            shown, f"is not an image Pillow can decode ({e})", "re-save it as PNG or JPEG"
        ) from None
    if image.format != "TIFF":
        # One picture: a phone's JPEG (MPO) carries a second, smaller copy as a frame,
        # an animated PNG or GIF its animation; only a TIFF's frames are pages.
        return Picture(path, image, 1, limits)
    try:
        frames = count_frames(image, MAX_FRAMES)
    except (OSError, ValueError, SyntaxError) as e:
        image.close()
        raise DocumentError(shown, f"is a corrupt image ({e})", "re-save it as PNG, JPEG or TIFF") from None
    if frames > MAX_FRAMES:
        image.close()
        raise DocumentError(
            shown,
            f"is an image of more than {MAX_FRAMES} frames (pages); longtask OCRs at most {MAX_FRAMES}",
            "split it (e.g. `tiffsplit`) or convert it to PDF",
        )
    return Picture(path, image, frames, limits)


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The frame count; every frame needs OCR."""
    picture = open_image(path)
    try:
        return picture.frames, picture.frames
    finally:
        picture.close()
