"""Every code block of the README and of the user guide runs: no stale docs.

Files: ``README.md`` and ``docs/*.md`` (not ``docs/api/``, which is generated from the
docstrings and built by ``make docs``). A fenced block's language decides what happens:

* ``python`` — executed. The blocks of one file run in document order in one namespace,
  in a temporary working directory, offline.
* ``bash`` — one command per logical line (``#`` comments dropped; a trailing ``\\`` and
  a newline inside quotes continue the line). The known forms:

  - ``specbound ARGS`` (or ``python -m specbound ARGS``): run in-process through
    :func:`specbound.cli.common.run_app`, in the file's temporary directory (so a file
    one command writes, ``-o pair.json``, is there for the next); it must exit 0.
    ``> FILE`` sends its stdout to FILE; other shell operators are refused;
  - ``make TARGET...``: every TARGET must be a target of the Makefile (not run: ``make
    run`` is the full reproduction and ``make test`` this very suite);
  - ``python tools/train_pair ARGS``: ARGS parsed by the training script's own parser,
    never run (a full run trains for half an hour and writes the shipped weights; its
    ``--quick`` run is ``tests/test_train_pair.py``'s);
  - ``python tools/sd_bound.py ARGS``: run (it reads a committed results file; paths
    relative to the repository's root);
  - ``pip install ...``, ``git clone ...``, ``cd ...``: set-up steps, skipped;
    ``py-spy record ... -- python -c CODE``: CODE is compiled, the profiler not run;
  - anything else fails the test: give it a rule here, or use a ``text`` fence.

* ``console`` — lines starting with ``$ `` are commands, as in ``bash``; the other lines
  show output and are not compared.
* any other language, or none (trees, formulas, output) — not run.

One hidden marker, an HTML comment on the line just before a fence, changes a block:
``<!-- docs-test: parse-only -->``, for commands that legitimately take minutes (a full
``reproduce``, ``bench lm``, ``profile`` with its measurements) or that name placeholder
paths. In such a block a ``specbound`` command is only *parsed* against the CLI (click's
``make_context``: an unknown command or option, a missing argument or a badly typed
value fails), and Python is only compiled. There is no marker that skips a block:
everything else runs, and an unmarked block that fails fails its file's test. Prefer
making a command cheap (``--runs 2000``, ``--quick``, ``-n 8``) to marking it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from specbound.cli import app
from specbound.cli.common import run_app

try:  # typer >= 0.2x runs on its own copy of click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # older typer: click itself
    from click.exceptions import ClickException, UsageError  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<mode>[\w-]+)\s*-->\s*$")
MODES = ("run", "parse-only")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
SHELL_LANGUAGES = ("bash", "sh", "shell", "console")
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", "<", ">>", "2>", "2>&1"}
SETUP_COMMANDS = {("pip", "install"), ("git", "clone"), ("cd",)}


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    mode: str  # "run" or "parse-only"

    @property
    def where(self) -> str:
        return f"{shown(self.path)}:{self.line}"


def shown(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def extract_blocks(text: str, path: Path) -> list[Block]:
    """The fenced blocks of ``text`` in order, with the mode their marker sets.

    Raises ValueError for an unclosed fence, an unknown marker, or a marker that is not
    directly followed by a fence (a marker must never silently stop applying).
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        if marker:
            if marker["mode"] not in MODES:
                raise ValueError(f"{path}:{i + 1}: unknown docs-test marker {marker['mode']!r}")
            if i + 1 >= len(lines) or not FENCE.match(lines[i + 1]):
                raise ValueError(f"{path}:{i + 1}: a docs-test marker must precede a fence")
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        closing = re.compile(rf"^\s*{re.escape(fence['fence'][0])}{{{len(fence['fence'])},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), None)
        if end is None:
            raise ValueError(f"{path}:{i + 1}: unclosed code fence")
        indent = len(fence["indent"])
        body = "\n".join(line[indent:] for line in lines[i + 1 : end])
        previous = MARKER.match(lines[i - 1]) if i > 0 else None
        mode = previous["mode"] if previous else "run"
        blocks.append(Block(path, i + 1, fence["lang"].lower(), body, mode))
        i = end + 1
    return blocks


def shell_commands(block: Block) -> Iterator[tuple[int, list[str]]]:
    """(line in the file, argv) for every command of a shell or console block."""
    lines = block.text.split("\n")
    if block.language == "console":
        lines = [line[2:] if line.startswith("$ ") else "" for line in lines]
    pending, start = "", None
    for offset, line in enumerate(lines):
        start = offset if start is None else start
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        try:
            argv = shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the string goes on on the next line
            pending += "\n"
            continue
        if argv:
            yield block.line + 1 + start, argv
        pending, start = "", None
    if pending.strip():
        raise ValueError(f"{block.where}: unterminated shell line {pending!r}")


# ---------------------------------------------------------------------------- commands


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, flags=re.M))


def parse_specbound(argv: list[str]) -> None:
    """Parse ``specbound ARGV`` against the CLI without running it (raises UsageError):
    walk the command groups by name, then let the command's ``make_context`` parse."""
    command = typer.main.get_command(app)
    name, args, parent = "specbound", list(argv), None
    try:
        while callable(getattr(command, "list_commands", None)):  # a group
            if not args or args[0].startswith("-"):
                command.make_context(name, args, parent=parent)
                return
            context = typer.Context(command, info_name=name, parent=parent)
            sub = command.get_command(context, args[0])  # type: ignore[attr-defined]
            if sub is None:
                raise UsageError(f"no such command {args[0]!r} in {name!r}")
            command, name, args, parent = sub, args[0], args[1:], context
        command.make_context(name, args, parent=parent)
    except typer.Exit as exc:  # --help, --version
        if exc.exit_code:
            raise UsageError(f"exited with code {exc.exit_code}") from exc


def run_specbound(argv: list[str]) -> tuple[int, str, str]:
    """Run ``specbound ARGV`` in-process; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_app(app, argv)
    return code, out.getvalue(), err.getvalue()


def parse_train_pair(argv: list[str]) -> None:
    """Parse the training script's arguments with its own parser (argparse)."""
    tools = str(ROOT / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    from train_pair.main import parse_args

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parse_args(argv)
    except SystemExit as exc:
        if exc.code:
            raise ValueError(err.getvalue().strip().splitlines()[-1]) from exc


def run_sd_bound(argv: list[str], mode: str) -> None:
    """Run the bound tool on a file of the repository (paths relative to its root)."""
    spec = importlib.util.spec_from_file_location("sd_bound", ROOT / "tools" / "sd_bound.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if mode == "parse-only":
        return
    args = [str(ROOT / a) if (ROOT / a).is_file() else a for a in argv]
    with contextlib.redirect_stdout(io.StringIO()):
        code = module.main(args)
    if code != 0:
        raise ValueError(f"tools/sd_bound.py exit code {code}")


def check_command(argv: list[str], mode: str) -> None:
    """Run or check one shell command (rules in the module docstring); raise on failure."""
    if argv[:3] == ["python", "-m", "specbound"]:
        argv = ["specbound", *argv[3:]]
    bad = SHELL_OPERATORS.intersection(argv)
    if bad:
        raise ValueError(f"shell operator {sorted(bad)[0]!r} is not supported here")
    if argv[0] == "specbound":
        args, out_file = argv[1:], None
        if ">" in args:
            at = args.index(">")
            if at != len(args) - 2:
                raise ValueError("'>' must be followed by exactly one file name, at the end")
            args, out_file = args[:at], args[at + 1]
        if mode == "parse-only":
            parse_specbound(args)
            return
        code, out, err = run_specbound(args)
        if code != 0:
            raise ValueError(f"exit code {code}\n{(err or out)[-3000:]}")
        if out_file is not None:
            Path(out_file).write_text(out)
    elif argv[0] == "make":
        unknown = [t for t in argv[1:] if not t.startswith("-") and t not in makefile_targets()]
        if len(argv) < 2 or unknown:
            raise ValueError(f"not a Makefile target: {unknown or argv}")
    elif argv[:2] == ["python", "tools/train_pair"]:
        parse_train_pair(argv[2:])
    elif argv[:2] == ["python", "tools/sd_bound.py"]:
        run_sd_bound(argv[2:], mode)
    elif argv[0] == "py-spy":
        if "-c" in argv:
            compile(argv[argv.index("-c") + 1], "<py-spy -c>", "exec")
    elif tuple(argv[:2]) in SETUP_COMMANDS or tuple(argv[:1]) in SETUP_COMMANDS:
        return
    else:
        raise ValueError("not a known command form (see the rules in tests/test_docs.py)")


# ---------------------------------------------------------------------------- the tests


@pytest.fixture
def docs_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary working directory, offline, with torch's thread count restored."""
    monkeypatch.chdir(tmp_path)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    yield tmp_path
    torch = sys.modules.get("torch")
    if torch is not None and threads is not None:
        torch.set_num_threads(threads)


def run_file(path: Path) -> list[str]:
    """Run every block of ``path``; the failures, each with its place in the file."""
    failures: list[str] = []
    namespace: dict[str, object] = {"__name__": "__docs__"}
    python_failed = False
    for block in extract_blocks(path.read_text(), path):
        if block.language in ("python", "py"):
            try:
                code = compile(block.text, block.where, "exec")
            except SyntaxError as exc:
                failures.append(f"{block.where}: python block does not compile: {exc}")
                continue
            if block.mode == "parse-only" or python_failed:
                continue
            try:
                exec(code, namespace)
            except Exception as exc:  # report, then skip this file's later Python
                python_failed = True
                failures.append(f"{block.where}: python block raised {exc!r}")
        elif block.language in SHELL_LANGUAGES:
            for line, argv in shell_commands(block):
                started = time.perf_counter()
                try:
                    check_command(argv, block.mode)
                except Exception as exc:  # a usage error, a failed run, a crash: report all
                    message = exc.format_message() if isinstance(exc, ClickException) else exc
                    failures.append(f"{shown(path)}:{line}: {shlex.join(argv)}\n  {message}")
                elapsed = time.perf_counter() - started
                if elapsed > 30:
                    failures.append(
                        f"{shown(path)}:{line}: took {elapsed:.0f} s; "
                        "make it cheaper or mark its block parse-only"
                    )
    return failures


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_every_block_runs(path: Path, docs_cwd: Path) -> None:
    failures = run_file(path)
    assert not failures, "stale documentation:\n" + "\n".join(failures)


def test_readme_library_snippet_runs_as_written(docs_cwd: Path) -> None:
    """The README's "As a library" block, alone in a fresh namespace, exactly as shown."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### As a library") :]
    block = next(b for b in extract_blocks(section, ROOT / "README.md") if b.language == "python")
    assert block.mode == "run", "the README's library snippet must run, not only parse"
    namespace: dict[str, object] = {}
    exec(compile(block.text, "README.md (As a library)", "exec"), namespace)
    sb = namespace["sb"]
    exact = sb.theory.expected_rejections(  # type: ignore[attr-defined]
        namespace["draft_chain"], namespace["target_chain"], namespace["algorithm"]
    )
    estimate = namespace["result"].estimate("rejections")  # type: ignore[attr-defined]
    assert abs(estimate.mean - exact) < 4 * estimate.se
    assert namespace["out"].stats.target_calls >= 1  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the rules themselves


def test_markers_and_fences_are_read_strictly(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    text = (
        "```bash\nspecbound step '[1]' '[1]'\n```\n"
        "<!-- docs-test: parse-only -->\n```bash\nspecbound reproduce\n```\n"
        "```\nplain\n```\n"
    )
    blocks = extract_blocks(text, path)
    assert [(b.language, b.mode, b.line) for b in blocks] == [
        ("bash", "run", 1),
        ("bash", "parse-only", 5),
        ("", "run", 8),
    ]
    for bad in (
        "<!-- docs-test: skip -->\n```bash\nx\n```\n",  # no such marker
        "<!-- docs-test: parse-only -->\n\n```bash\nx\n```\n",  # not directly before a fence
        "```python\nx = 1\n",  # unclosed
    ):
        with pytest.raises(ValueError):
            extract_blocks(bad, path)


def test_shell_lines_are_joined_and_comments_dropped(tmp_path: Path) -> None:
    text = 'specbound step a \\\n  b   # comment\npy-spy record -- python -c "\nx = 1\n"\n'
    block = Block(tmp_path / "x.md", 10, "bash", text, "run")
    assert list(shell_commands(block)) == [
        (11, ["specbound", "step", "a", "b"]),
        (13, ["py-spy", "record", "--", "python", "-c", "\nx = 1\n"]),
    ]
    console = Block(tmp_path / "x.md", 1, "console", "$ specbound step a b\noutput line\n", "run")
    assert list(shell_commands(console)) == [(2, ["specbound", "step", "a", "b"])]


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "x", "--temperatur", "0.5"],  # misspelled option
        ["no-such-command"],
        ["bench", "nope"],
        ["theory", "pair.json", "--num-drafts", "four"],  # badly typed value
        ["simulate"],  # missing argument
    ],
)
def test_parse_only_catches_stale_commands(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_specbound(argv)


def test_parse_only_accepts_current_commands() -> None:
    parse_specbound(["profile", "--no-measure", "--num-drafts", "2-8", "--json"])
    parse_specbound(["bench", "lm", "--repeats", "5"])
    parse_specbound(["reproduce", "--help"])


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "-l"],  # unknown form
        ["make", "no-such-target"],
        ["python", "tools/train_pair", "--no-such-option"],
        ["specbound", "step", "a", "b", "|", "head"],  # shell operator
    ],
)
def test_unknown_or_stale_forms_fail(argv: list[str]) -> None:
    with pytest.raises(ValueError):
        check_command(argv, "parse-only")


def test_an_unmarked_failing_block_fails(docs_cwd: Path) -> None:
    page = docs_cwd / "page.md"
    page.write_text(
        "```python\nimport specbound as sb\nsb.Speculative(gamma=0)\n```\n"
        "```bash\nspecbound theory missing.json\nspecbound step '[0.5,0.5]' '[0.5,0.5]'\n```\n"
    )
    failures = run_file(page)
    assert len(failures) == 2, failures
    assert "page.md:1: python block raised InvalidAlgorithmError" in failures[0]
    assert "page.md:6: specbound theory missing.json" in failures[1]
    assert "exit code 2" in failures[1]


def test_known_forms_pass() -> None:
    for argv in (
        ["make", "run"],
        ["make", "docs"],
        ["python", "tools/train_pair", "--quick", "--seed", "1"],
        ["pip", "install", "py-spy"],
        ["python", "-m", "specbound", "reproduce", "--quick"],
    ):
        check_command(argv, "parse-only")
