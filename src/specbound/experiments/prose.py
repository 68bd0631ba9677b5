"""The report's prose: Markdown templates shipped in ``experiments/templates/``, filled in.

Each experiment's ``describe`` computes a small dict of already-formatted values and
renders its template, so the words live in ``templates/<name>.md`` and the code holds only
numbers. Templates use :class:`string.Template` placeholders (``$name`` or ``${name}``;
``$$`` for a dollar sign), which leaves the braces of the paper's notation
(``E_{x∼q}``) alone.

A template is written as Markdown is read: paragraphs are separated by blank lines and a
paragraph may be wrapped over several lines, which :func:`unwrap` joins with single spaces
(as a Markdown viewer would). A paragraph whose first line starts with ``|`` is a table
and keeps its lines. Values are inserted after the joining, so a multi-line value (a
table's rows) keeps its line breaks.

:func:`render` fails loudly: a placeholder without a value, a value without a
placeholder (a typo on either side) or a value that is not text raises
:class:`TemplateError`, naming the template and the keys.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import cache
from importlib import resources

__all__ = [
    "TemplateError",
    "fill",
    "placeholders",
    "plus_minus",
    "render",
    "template_names",
    "template_text",
    "unwrap",
]

_PACKAGE = "specbound.experiments"
_FOLDER = "templates"
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


class TemplateError(ValueError):
    """A report template is missing, or its placeholders and the values given disagree."""


def unwrap(text: str) -> str:
    """Markdown paragraphs with their wrapped lines joined by single spaces; a paragraph
    whose first line starts with ``|`` (a table) keeps its lines."""
    paragraphs = _PARAGRAPH_BREAK.split(text.strip())
    return "\n\n".join(_join_lines(paragraph) for paragraph in paragraphs)


def _join_lines(paragraph: str) -> str:
    lines = [line.strip() for line in paragraph.strip().splitlines()]
    return "\n".join(lines) if lines[0].startswith("|") else " ".join(lines)


def template_names() -> list[str]:
    """The names of every shipped template (``templates/<name>.md``), sorted."""
    folder = resources.files(_PACKAGE) / _FOLDER
    return sorted(entry.name[:-3] for entry in folder.iterdir() if entry.name.endswith(".md"))


@cache
def template_text(name: str) -> str:
    """The text of ``templates/<name>.md``, unwrapped (:func:`unwrap`)."""
    source = resources.files(_PACKAGE) / _FOLDER / f"{name}.md"
    if not source.is_file():
        raise TemplateError(f"no report template {_FOLDER}/{name}.md in {_PACKAGE}")
    return unwrap(source.read_text(encoding="utf-8"))


def placeholders(text: str) -> set[str]:
    """The placeholder names of a :class:`string.Template` text; a stray ``$`` raises."""
    names = set()
    for match in string.Template.pattern.finditer(text):
        if match.group("invalid") is not None:
            raise TemplateError(f"a bad placeholder at offset {match.start()}: {match.group()!r}")
        name = match.group("named") or match.group("braced")
        if name is not None:
            names.add(name)
    return names


def fill(text: str, values: Mapping[str, str], *, source: str = "a template") -> str:
    """``text`` with every ``$placeholder`` replaced by ``values[placeholder]``.

    Every placeholder must get a value and every value a placeholder, and every value
    must be a string (numbers are formatted where they are computed); otherwise
    :class:`TemplateError`, naming ``source`` and the keys at fault.
    """
    wanted = placeholders(text)
    missing, unused = wanted - set(values), set(values) - wanted
    problems = []
    if missing:
        problems.append(f"no value for {', '.join(sorted(missing))}")
    if unused:
        problems.append(f"values without a placeholder: {', '.join(sorted(unused))}")
    wrong = sorted(key for key, value in values.items() if not isinstance(value, str))
    if wrong:
        problems.append(f"values that are not text: {', '.join(wrong)}")
    if problems:
        raise TemplateError(f"{source}: {'; '.join(problems)}")
    return string.Template(text).substitute(values)


def render(name: str, values: Mapping[str, str]) -> str:
    """The shipped template ``templates/<name>.md`` filled with ``values`` (:func:`fill`)."""
    return fill(template_text(name), values, source=f"template {_FOLDER}/{name}.md")


def plus_minus(estimate: Mapping[str, float], digits: int = 3) -> str:
    """A stored estimate (``{"mean", "se"}``) as ``mean ± half-width of its 95% interval``."""
    return f"{estimate['mean']:.{digits}f} ± {1.96 * estimate['se']:.{digits}f}"
