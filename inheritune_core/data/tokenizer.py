"""Tokenizers, offline first.

`load_tokenizer("gpt2")` is the real GPT-2 BPE built from a local vocabulary file. tiktoken's own loader
downloads it from a blob store that is unreachable offline, but the identical file (r50k_base) ships in the
`openai-whisper` sdist on PyPI, which *is* reachable: `fetch_gpt2_vocab` pip-downloads that sdist, extracts the
one file and checks its sha256. Any other name/path/object is taken as a Hugging Face tokenizer (LLaMA family).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config import EOT_TOKEN
from ..errors import DataError
from ..io import atomic_write_bytes, sha256_file
from ..paths import data_dir

ENDOFTEXT = "<|endoftext|>"
GPT2_VOCAB_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
WHISPER_SDIST = ("openai-whisper", "20250625")
WHISPER_VOCAB_MEMBER = "whisper/assets/gpt2.tiktoken"
GPT2_NAMES = ("gpt2", "r50k_base")  # byte-identical BPE ranks; r50k_base is tiktoken's name for the same file
PIP_TIMEOUT_S = 600


def gpt2_vocab_path() -> Path:
    return data_dir() / "assets" / "gpt2.tiktoken"


def pip_download_sdist(
    package: str, version: str, dest_dir: Path, expected_sha256: str | None = None
) -> Path:
    """`pip download --no-deps --no-binary :all: package==version` into dest_dir, reusing a cached file.

    The sdist is downloaded into a temporary folder and moved into dest_dir only after its hash checks out, so
    dest_dir never holds a corrupt file we wrote. A cached file with the wrong hash is refused, not replaced.
    """
    dest_dir = Path(dest_dir)
    stems = {f"{package}-{version}", f"{re.sub(r'[-_.]+', '_', package)}-{version}"}
    for stem in sorted(stems):
        cached = dest_dir / f"{stem}.tar.gz"
        if cached.is_file():
            got = sha256_file(cached)
            if expected_sha256 and got != expected_sha256:
                raise DataError(
                    f"cached download {cached} has sha256 {got}, expected {expected_sha256}: the file is corrupt; "
                    f"delete it to download it again"
                )
            return cached
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=dest_dir) as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--disable-pip-version-check",
            "-q",
            f"{package}=={version}",
            "-d",
            tmp,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise DataError(f"pip download {package}=={version} timed out after {PIP_TIMEOUT_S} s") from None
        files = sorted(Path(tmp).glob("*.tar.gz"))
        if proc.returncode != 0 or not files:
            last = (proc.stderr.strip().splitlines() or ["no sdist produced"])[-1]
            raise DataError(f"pip download {package}=={version} failed: {last}")
        got = sha256_file(files[0])
        if expected_sha256 and got != expected_sha256:
            raise DataError(
                f"downloaded {files[0].name} has sha256 {got}, expected {expected_sha256} (corrupt or altered "
                f"download); nothing was written"
            )
        target = dest_dir / files[0].name
        os.replace(files[0], target)
    return target


def fetch_gpt2_vocab(dest: str | os.PathLike | None = None) -> Path:
    """Make sure the GPT-2 BPE vocabulary file exists at `dest` (default data_dir()/assets/gpt2.tiktoken).

    Source: `whisper/assets/gpt2.tiktoken` inside the openai-whisper sdist (MIT), identical to tiktoken's
    r50k_base; whisper itself is never installed.
    """
    dest = Path(dest) if dest is not None else gpt2_vocab_path()
    if dest.is_file():
        got = sha256_file(dest)
        if got != GPT2_VOCAB_SHA256:
            raise DataError(
                f"{dest} has sha256 {got}, expected {GPT2_VOCAB_SHA256}: corrupt; delete it to fetch again"
            )
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".whisper-", dir=dest.parent) as tmp:
        sdist = pip_download_sdist(*WHISPER_SDIST, Path(tmp))
        with tarfile.open(sdist, "r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith("/" + WHISPER_VOCAB_MEMBER)), None)
            if member is None:
                raise DataError(f"{sdist.name} does not contain {WHISPER_VOCAB_MEMBER}")
            data = tar.extractfile(member).read()
    got = hashlib.sha256(data).hexdigest()
    if got != GPT2_VOCAB_SHA256:
        raise DataError(
            f"{WHISPER_VOCAB_MEMBER} from {sdist.name} has sha256 {got}, expected {GPT2_VOCAB_SHA256}"
        )
    atomic_write_bytes(dest, data)
    return dest


@lru_cache(maxsize=4)
def _gpt2_from_file(path: str):
    # tiktoken (and transformers below) only when a tokenizer is built: reading token files needs neither.
    import tiktoken
    from tiktoken_ext.openai_public import r50k_pat_str

    raw = Path(path).read_bytes()
    if hashlib.sha256(raw).hexdigest() != GPT2_VOCAB_SHA256:
        raise DataError(
            f"{path} is not the GPT-2 vocabulary (sha256 mismatch): delete it and run `make setup`"
        )
    ranks = {
        base64.b64decode(tok): int(rank) for tok, rank in (line.split() for line in raw.splitlines() if line)
    }
    return tiktoken.Encoding(
        name="gpt2",
        pat_str=r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: EOT_TOKEN},
        explicit_n_vocab=EOT_TOKEN + 1,
    )


def _load_gpt2():
    path = gpt2_vocab_path()
    try:
        return _gpt2_from_file(str(fetch_gpt2_vocab(path)))
    except DataError as offline_error:
        try:  # online users: tiktoken's own download path
            import tiktoken

            return tiktoken.get_encoding("gpt2")
        except Exception as e:  # noqa: BLE001 - any failure here means "no tokenizer"; report both causes
            raise DataError(
                f"GPT-2 vocabulary unavailable: {offline_error}; tiktoken download also failed "
                f"({type(e).__name__}); run `make setup` with access to PyPI"
            ) from None


class HFTokenizer:
    """The slice of tiktoken.Encoding's interface this package uses, over a Hugging Face tokenizer.

    Used for the LLaMA-family (SmolLM2) low-data runs: documents are separated by the tokenizer's EOS token,
    as `<|endoftext|>` separates them for GPT-2.
    """

    def __init__(self, tokenizer: Any, name: str | None = None):
        if getattr(tokenizer, "eos_token_id", None) is None:
            raise ValueError(f"tokenizer {name or tokenizer!r} has no EOS token to separate documents")
        self.tokenizer = tokenizer
        self.name = str(name or getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)

    @classmethod
    def load(cls, name_or_path: str | os.PathLike) -> HFTokenizer:
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(name_or_path))
        except Exception as e:  # noqa: BLE001 - transformers raises many types; one clear line instead
            raise ValueError(
                f"cannot load tokenizer {str(name_or_path)!r}: {type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}"
            ) from None
        return cls(tok, str(name_or_path))

    @property
    def eot_token(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def n_vocab(self) -> int:
        return len(self.tokenizer)

    def encode_ordinary(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def encode_ordinary_batch(self, texts: list[str], num_threads: int | None = None) -> list[list[int]]:
        return [
            list(x) for x in self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        ]

    def encode(self, text: str, allowed_special: Any = None) -> list[int]:
        return self.encode_ordinary(text)

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def __repr__(self) -> str:
        return f"HFTokenizer({self.name!r}, n_vocab={self.n_vocab}, eot={self.eot_token})"


class ByteTokenizer:
    """UTF-8 bytes as tokens (ids 0-255) plus one end-of-text id (256): a character-level vocabulary that needs no
    file and no fitting.

    Why: at CPU scales the GPT-2 head (50,304 rows) costs most of the compute and 100K BPE tokens are too few for
    depth to matter; a 257-token vocabulary moves that compute into the blocks (the CPU scale of `config.SCALES`).
    For the bundled English corpus (almost all ASCII) a byte is a character.
    """

    name = "byte"
    eot_token = 256
    n_vocab = 257

    def encode_ordinary(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def encode_ordinary_batch(self, texts: list[str], num_threads: int | None = None) -> list[list[int]]:
        return [self.encode_ordinary(t) for t in texts]

    def encode(self, text: str, allowed_special: Any = None) -> list[int]:
        return self.encode_ordinary(text)

    def decode(self, ids: Iterable[int]) -> str:
        ids = list(ids)
        if any(not 0 <= i <= self.eot_token for i in ids):
            raise ValueError(f"byte tokenizer ids are 0-{self.eot_token}")
        return bytes(i for i in ids if i != self.eot_token).decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return "ByteTokenizer(n_vocab=257, eot=256)"


BYTE_NAMES = ("byte", "char")


def load_tokenizer(name: Any = "gpt2"):
    """The tokenizer by name: "gpt2" -> tiktoken.Encoding (offline); "byte" (or "char") -> `ByteTokenizer`; else
    a Hugging Face tokenizer (hub name, local folder, or an already loaded tokenizer object) wrapped in
    `HFTokenizer`."""
    if isinstance(name, str) and name in GPT2_NAMES:
        return _load_gpt2()
    if isinstance(name, str) and name in BYTE_NAMES:
        return ByteTokenizer()
    if isinstance(name, (HFTokenizer, ByteTokenizer)) or type(name).__name__ == "Encoding":
        return name
    if isinstance(name, (str, os.PathLike)):
        return HFTokenizer.load(name)
    return HFTokenizer(name)


def tokenizer_name(tok: Any) -> str:
    return "gpt2" if getattr(tok, "name", None) in GPT2_NAMES else str(getattr(tok, "name", tok))


__all__ = [
    "BYTE_NAMES",
    "ByteTokenizer",
    "ENDOFTEXT",
    "GPT2_NAMES",
    "GPT2_VOCAB_SHA256",
    "HFTokenizer",
    "fetch_gpt2_vocab",
    "gpt2_vocab_path",
    "load_tokenizer",
    "pip_download_sdist",
    "tokenizer_name",
]
