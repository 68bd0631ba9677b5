"""Deterministic English training text built from what ships with every CPython.

The embedded draft/target pair is trained on three sources, all read from the running
interpreter's standard library without importing any of its modules:

1. ``pydoc_data.topics`` — the reference-manual topics that ``help()`` shows (for example
   "The with statement"), one document per topic;
2. the docstrings of the standard library's ``.py`` files, extracted with :mod:`ast`;
3. blocks of English comments from the same files, extracted with :mod:`tokenize` and
   filtered so that commented-out code and licence boilerplate are left out.

Files are visited in sorted path order, exact duplicate documents are dropped (first
occurrence wins), and about one document in :data:`HELDOUT_MODULUS` is held out, chosen by
a CRC-32 of its text (so the split does not depend on the order or on Python's hash seed).
The same interpreter version therefore always yields the same text.
"""

from __future__ import annotations

import ast
import io
import re
import sysconfig
import tokenize
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DOC_SEPARATOR = "<|endoftext|>"
"""Placed between documents in the joined text; the tokenizer's special token."""

MIN_DOC_CHARS = 40
"""Documents shorter than this (after stripping) are dropped."""

HELDOUT_MODULUS = 25
"""About one document in this many goes to the held-out split."""

_SKIPPED_DIRS = frozenset({"site-packages", "__pycache__", "dist-packages"})
_CODE_HINT = re.compile(
    r"(^\s*(def|class|import|from|return|if|elif|else|for|while|try|except)\b)"
    r"|[=(){}\[\];]\s*$|^\s*[\w.]+\s*=|^\s*[\w.]+\(.*\)\s*$"
)
_BOILERPLATE = re.compile(
    r"copyright|license|-\*-|^!|^[-=#*~_+ ]+$|^XXX|^TODO|^FIXME", re.IGNORECASE
)


@dataclass(frozen=True)
class Document:
    """One unit of training text and the source it came from (a file or a topic)."""

    source: str
    text: str


def stdlib_root() -> Path:
    """Return the directory of the running interpreter's pure-Python standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path | None = None, include_tests: bool = True) -> list[Path]:
    """List the standard library's ``.py`` files in sorted order.

    Args:
        root: the standard-library directory; defaults to :func:`stdlib_root`.
        include_tests: whether to keep files under ``test``/``tests`` directories.
    """
    base = stdlib_root() if root is None else root
    files = []
    for path in base.rglob("*.py"):
        parts = set(path.relative_to(base).parts)
        if parts & _SKIPPED_DIRS:
            continue
        if not include_tests and parts & {"test", "tests"}:
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(base).as_posix())


def read_source(path: Path) -> str | None:
    """Read a Python file honouring its coding cookie; ``None`` if it cannot be decoded."""
    try:
        with tokenize.open(path) as handle:
            return handle.read()
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
        return None


def docstrings(source: str) -> list[str]:
    """Return the module, class and function docstrings of ``source`` in AST walk order.

    Files that do not parse (for example deliberately broken test data) yield nothing.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, kinds):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                found.append(doc.strip())
    return found


def _comment_lines(source: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for comments that stand alone on their line."""
    lines = source.splitlines()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type != tokenize.COMMENT:
                continue
            row, col = tok.start
            if lines[row - 1][:col].strip():
                continue  # a trailing comment after code
            yield row, tok.string.lstrip("#").strip()
    except (tokenize.TokenError, SyntaxError, IndentationError, IndexError):
        return


def is_english_line(line: str) -> bool:
    """Heuristic: does a comment line read as English prose rather than code or noise?"""
    if not line or _BOILERPLATE.search(line) or _CODE_HINT.search(line):
        return False
    letters = sum(ch.isalpha() or ch.isspace() for ch in line)
    return letters / len(line) >= 0.85 and len(line.split()) >= 2


def comment_blocks(source: str) -> list[str]:
    """Group consecutive standalone English comment lines of ``source`` into paragraphs."""
    blocks: list[list[str]] = []
    last_row = -2
    for row, text in _comment_lines(source):
        if not is_english_line(text):
            last_row = -2
            continue
        if row == last_row + 1 and blocks:
            blocks[-1].append(text)
        else:
            blocks.append([text])
        last_row = row
    return [" ".join(block) for block in blocks]


def topic_documents() -> list[Document]:
    """Return one document per ``pydoc_data.topics`` entry, sorted by topic name."""
    from pydoc_data.topics import topics  # a data module: importing it runs no library code

    return [Document(f"topic:{name}", topics[name].strip()) for name in sorted(topics)]


def stdlib_documents(
    files: Iterable[Path], root: Path, with_comments: bool = True
) -> Iterator[Document]:
    """Yield the docstrings (and, optionally, comment paragraphs) of ``files`` in order."""
    for path in files:
        source = read_source(path)
        if source is None:
            continue
        name = path.relative_to(root).as_posix()
        for doc in docstrings(source):
            yield Document(name, doc)
        if with_comments:
            for block in comment_blocks(source):
                yield Document(name, block)


def dedupe(documents: Iterable[Document], min_chars: int = MIN_DOC_CHARS) -> list[Document]:
    """Drop short documents and exact repeats, keeping each text's first occurrence."""
    seen: set[str] = set()
    kept = []
    for doc in documents:
        if len(doc.text) < min_chars or doc.text in seen:
            continue
        seen.add(doc.text)
        kept.append(doc)
    return kept


def is_heldout(key: str, modulus: int = HELDOUT_MODULUS) -> bool:
    """Whether the document with this key (its text) is held out (stable CRC-32)."""
    return zlib.crc32(key.encode("utf-8")) % modulus == 0


def build_documents(
    include_tests: bool = True, with_comments: bool = True
) -> tuple[list[Document], list[Document]]:
    """Return the ``(train, heldout)`` documents in their deterministic order."""
    root = stdlib_root()
    files = stdlib_files(root, include_tests=include_tests)
    everything = [*topic_documents(), *stdlib_documents(files, root, with_comments)]
    documents = dedupe(everything)
    train = [doc for doc in documents if not is_heldout(doc.text)]
    heldout = [doc for doc in documents if is_heldout(doc.text)]
    return train, heldout


def join_documents(documents: Iterable[Document]) -> str:
    """Join documents into one text, separated by :data:`DOC_SEPARATOR`."""
    return DOC_SEPARATOR.join(doc.text for doc in documents)


def build_corpus(include_tests: bool = True, with_comments: bool = True) -> tuple[str, str]:
    """Return ``(train_text, heldout_text)``, documents joined by :data:`DOC_SEPARATOR`.

    Args:
        include_tests: also read files in the standard library's test packages.
        with_comments: also use paragraphs of English comments, not only docstrings.
    """
    train, heldout = build_documents(include_tests=include_tests, with_comments=with_comments)
    return join_documents(train), join_documents(heldout)
