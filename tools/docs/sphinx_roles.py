"""A griffe extension for the API pages (``mkdocs.yml``): Sphinx roles in docstrings.

specbound's docstrings name other objects with Sphinx roles (:func:`x`, :class:`~a.b.C`,
:mod:`...`, :data:`...`, :meth:`...`, :attr:`...`), which Markdown would show verbatim.
This turns each role into inline code that links to the object's API entry when the
site documents it, and stays plain code otherwise (an *optional* cross-reference: never
a broken link, so ``mkdocs build --strict`` does not depend on what a docstring names).
A leading ``~`` shows only the last component, as in Sphinx; a bare name is resolved in
the scope of the docstring's owner (its module's imports included).

Two more RST habits are made to read well in Markdown: a simple table (rows between
``===`` rules) becomes a preformatted block, and outside code spans the ``_`` of
``[x]_+`` and a ``*`` between two letters (``p*b``) are escaped, so they are not read
as emphasis.
"""

from __future__ import annotations

import ast
import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):`([^`]+)`")
RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")  # a simple table's rule: "====  ===="
# a fenced block, a code span, or an HTML code element (from a role, above)
CODE = re.compile(r"^\s*```.*?^\s*```|(`+).+?(?<!`)\1(?!`)|<code>.*?</code>", re.M | re.S)
EMPHASIS_LOOKALIKES = re.compile(r"(?<=\])_(?=\+)|(?<=\w)\*(?=\w)")


def _lazy_names(loader: griffe.GriffeLoader) -> dict[str, str]:
    """``specbound.X`` -> where X is defined, for the names the package loads lazily
    (``specbound._LAZY``, read from the source, not imported)."""
    try:
        value = loader.modules_collection["specbound._LAZY"].value
        lazy = ast.literal_eval(str(value))
    except Exception:  # no such table: no lazy names
        return {}
    return {
        f"specbound.{name}": module if module.endswith(name) else f"{module}.{name}"
        for name, module in lazy.items()
    }


def _identifier(obj: griffe.Object | griffe.Alias, name: str, loader: griffe.GriffeLoader) -> str:
    """The canonical dotted path of ``name`` where ``obj``'s docstring is written (the
    page that documents an object registers its canonical path, not its re-exports)."""
    if not name.startswith("specbound"):
        head, _, rest = name.partition(".")
        try:
            base = obj.resolve(head)
        except Exception:  # an unresolvable name stays plain code
            return name
        name = f"{base}.{rest}" if rest else base
    name = _lazy_names(loader).get(name, name)
    try:
        return str(loader.modules_collection[name].canonical_path)
    except Exception:  # not loaded (external, or missing): keep the name
        return name


def _replace(obj: griffe.Object | griffe.Alias, text: str, loader: griffe.GriffeLoader) -> str:
    def one(match: re.Match[str]) -> str:
        target = match.group(1).strip()
        short = target.startswith("~")
        target = target.lstrip("~")
        shown = target.rsplit(".", 1)[-1] if short else target
        identifier = _identifier(obj, target, loader)
        return (
            f'<autoref identifier="{html.escape(identifier)}" optional>'
            f"<code>{html.escape(shown)}</code></autoref>"
        )

    return ROLE.sub(one, text)


def _tables_as_blocks(text: str) -> str:
    """Fence every RST simple table (its first rule line to its last) as a code block."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if RULE.match(lines[i]):
            rules = [j for j in range(i, len(lines)) if RULE.match(lines[j])]
            # a simple table has three rules: top, under the header, bottom
            end = rules[2] if len(rules) >= 3 else None
            if end is not None and all(lines[j].strip() for j in range(i, end + 1)):
                indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
                out += [f"{indent}```text", *lines[i : end + 1], f"{indent}```"]
                i = end + 1
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _escape_outside_code(text: str) -> str:
    """Escape emphasis look-alikes in prose, leaving fences and code spans untouched."""

    def escape(prose: str) -> str:
        return EMPHASIS_LOOKALIKES.sub(lambda m: "\\" + m.group(0), prose)

    pieces: list[str] = []
    last = 0
    for code in CODE.finditer(text):
        pieces += [escape(text[last : code.start()]), code.group(0)]
        last = code.end()
    pieces.append(escape(text[last:]))
    return "".join(pieces)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None and ":" in docstring.value:
            docstring.value = _replace(obj, docstring.value, loader)
        if docstring is not None:
            docstring.value = _escape_outside_code(_tables_as_blocks(docstring.value))
