"""GGUF model files as targets: dequantized once, cached as a plain Hugging Face folder.

transformers reads a GGUF file (``from_pretrained(folder, gguf_file=name)``, with the
``gguf`` and ``accelerate`` packages) and dequantizes it to float32: for SmolLM2-135M
(a 98 MB Q4_1 file) about 30 s of tokenizer conversion and dequantization on one CPU
core, every time. So the first load writes the result once as an ordinary safetensors
folder (model, config, tokenizer) in the user cache folder, and every later load reads
that folder (about 0.2 s for SmolLM2).

* **Where**: ``<cache>/gguf/<file stem>-<sha256 prefix>/``, ``<cache>`` being
  specbound's cache folder (:func:`~specbound.lm.engine.kernel_cache.cache_dir`:
  ``$SPECBOUND_CACHE_DIR``, else ``$XDG_CACHE_HOME/specbound``, else
  ``~/.cache/specbound``). Deleting ``<cache>/gguf`` (:func:`clear_gguf_cache`) forgets
  every converted file; the next load converts again.
* **Key**: the SHA-256 of the file's bytes (0.1 s for 98 MB from the page cache), so a
  changed or replaced file is converted anew, and files with the same bytes (a copy
  under another name) share one folder.
* **Atomic**: the folder is written under a temporary name in the same parent and then
  renamed; a reader sees a complete folder or none. Two processes converting at once
  each write their own temporary folder; the first rename wins, the other is discarded.

The GGUF-loaded model refuses ``save_pretrained`` (it carries a ``quantization_config``
though its weights are already dequantized), so the cached model is built from the same
config without it and given the loaded state dict (every key must match), then saved.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from specbound.errors import ModelNotFoundError
from specbound.lm.engine.kernel_cache import cache_dir

__all__ = [
    "GGUF_CACHE_FOLDER",
    "GGUF_SUFFIX",
    "SOURCE_FILE",
    "clear_gguf_cache",
    "converted_folder",
    "file_sha256",
    "gguf_cache_root",
    "is_gguf",
]

#: The file name ending of a GGUF model file.
GGUF_SUFFIX = ".gguf"
#: The sub-folder of specbound's cache folder holding converted GGUF files.
GGUF_CACHE_FOLDER = "gguf"
#: Written last into a converted folder: what it was converted from.
SOURCE_FILE = "specbound-gguf-source.json"
#: Hex digits of the SHA-256 kept in a converted folder's name.
_KEY_DIGITS = 24
#: Bytes read at a time while hashing.
_READ_BYTES = 1 << 22


def is_gguf(source: str | os.PathLike[str]) -> bool:
    """Whether ``source`` names a GGUF file (by its ending; existence is checked later)."""
    return os.fspath(source).lower().endswith(GGUF_SUFFIX)


def gguf_cache_root() -> Path:
    """The folder converted GGUF files live in (see the module docstring)."""
    return cache_dir() / GGUF_CACHE_FOLDER


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of the file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _folder_for(path: Path, digest: str) -> Path:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in path.stem)[:64]
    return gguf_cache_root() / f"{stem}-{digest[:_KEY_DIGITS]}"


def _complete(folder: Path, digest: str) -> bool:
    """Whether ``folder`` is a finished conversion of the file with this ``digest``."""
    try:
        source = json.loads((folder / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(source, dict)
        and source.get("sha256") == digest
        and (folder / "config.json").is_file()
    )


def _load_gguf(path: Path) -> tuple[Any, Any]:
    """The tokenizer and the dequantized float32 model transformers reads from ``path``."""
    try:
        import gguf  # noqa: F401  (transformers needs it; a clear message if missing)
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelNotFoundError(
            f"target {str(path)!r}: reading a GGUF file needs the packages gguf and "
            "accelerate: pip install 'specbound[lm]'"
        ) from exc
    folder, name = str(path.parent), path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelNotFoundError(
            f"target {str(path)!r} could not be read as a GGUF causal LM: {first}"
        ) from exc
    return tokenizer, model


def _plain_copy(model: Any) -> Any:
    """``model`` rebuilt from its config without ``quantization_config`` (which blocks
    ``save_pretrained``), holding the same weights: every state-dict key must match."""
    config = copy.deepcopy(model.config)
    with contextlib.suppress(AttributeError):
        del config.quantization_config
    plain = type(model)(config)
    plain.load_state_dict(model.state_dict(), strict=True)
    return plain.eval()


def _write(path: Path, digest: str, folder: Path) -> None:
    """Convert ``path`` into ``folder`` atomically (a temporary sibling, then a rename)."""
    tokenizer, model = _load_gguf(path)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-", suffix=".tmp"))
    try:
        _plain_copy(model).save_pretrained(temporary)
        tokenizer.save_pretrained(temporary)
        source = {"gguf": str(path), "sha256": digest, "size": path.stat().st_size}
        (temporary / SOURCE_FILE).write_text(json.dumps(source, indent=1), encoding="utf-8")
        try:
            os.replace(temporary, folder)
        except OSError:
            if not _complete(folder, digest):  # NOTE: not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def converted_folder(path: str | os.PathLike[str]) -> Path:
    """The cached Hugging Face folder of the GGUF file ``path``, converted on first use.

    Raises :class:`ModelNotFoundError` naming ``path`` if it is not a readable GGUF
    causal LM, or if the cache folder cannot be written.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ModelNotFoundError(f"target {os.fspath(path)!r}: no such GGUF file")
    file = file.resolve()
    digest = file_sha256(file)
    folder = _folder_for(file, digest)
    if _complete(folder, digest):
        return folder
    for other in sorted(gguf_cache_root().glob(f"*-{digest[:_KEY_DIGITS]}")):
        if _complete(other, digest):  # the same bytes under another file name
            return other
    if folder.exists():  # NOTE: a folder left by an older or foreign writer: replace it
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"specbound: converting {file.name} once (dequantizing; later loads read {folder})",
        file=sys.stderr,
        flush=True,
    )
    try:
        _write(file, digest, folder)
    except OSError as exc:
        raise ModelNotFoundError(
            f"target {str(file)!r}: could not write its converted copy under "
            f"{str(gguf_cache_root())!r} ({exc}); set SPECBOUND_CACHE_DIR to a writable folder"
        ) from exc
    return folder


def clear_gguf_cache() -> bool:
    """Delete every converted GGUF folder; True if there was one to delete."""
    root = gguf_cache_root()
    if not root.exists():
        return False
    shutil.rmtree(root)
    return True
