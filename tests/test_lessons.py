"""The lessons are executable: every Python block runs, shown outputs are checked, references resolve.

Conventions (see lessons/00-how-to-read-this-repo.md):
* the ```python blocks of one lesson run in order in one namespace, like a notebook;
* a ```output block right after a python block holds what that block prints (checked exactly,
  after stripping trailing spaces); so does a ```mermaid block (a graph drawn by ``minigrad.viz``,
  rendered as a picture on GitHub); a block whose first line is ``# no-run`` is shown, not run;
* `path/to/file.py` and `path/to/file.py::Name.attr` in backticks are references: the file must
  exist and the name must be importable from it; relative Markdown links must point at files;
* every module of minigrad/ is *taught*: some lesson quotes one of its symbols or explains one as
  `path::Symbol` in its prose (a path in a lesson's "Files:" header, or a bare path, does not count);
  ``python -m tests.test_lessons --untaught`` lists the modules no lesson teaches yet.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md"))
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```\s*$", re.S | re.M)
QUOTE = re.compile(r"^\s*quote\s+((?:minigrad|parity|solubility|benchmarks|lessons)/[\w/.-]+\.py)::([\w.]+)\s*$")
REF = re.compile(r"`((?:minigrad|parity|solubility|benchmarks|lessons|tests)/[\w/.-]+\.py)(?:::([\w.]+))?`")
LINK = re.compile(r"\]\(((?!https?:|#)[^)#\s]+)(?:#[^)]*)?\)")


def _blocks(text):
    """(language, code) pairs in document order; a quote block's code is the source it quotes."""
    blocks = []
    for m in BLOCK.finditer(text):
        quote = QUOTE.match(m.group(2))
        blocks.append(("quote", m.group(3)) if quote else (m.group(1), m.group(3)))
    return blocks


def _module_name(path: str) -> str:
    """``minigrad/ops/shape.py`` -> ``minigrad.ops.shape``; a package's ``__init__.py`` -> the package."""
    module = path[: -len(".py")].replace("/", ".")
    return module[: -len(".__init__")] if module.endswith(".__init__") else module


def _source_of(path: str, name: str) -> str:
    """The source text of ``name`` (a class, function or method) in the module at ``path``."""
    import inspect

    obj = importlib.import_module(_module_name(path))
    for part in name.split("."):
        obj = getattr(obj, part)
    return inspect.getsource(inspect.unwrap(obj))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_quoted_source_is_the_source(path):
    """A block opened with ```python quote path::Name shows that object's source, exactly; an empty
    block is filled in by ``python -m tests.test_lessons --fill`` (so quotes never drift)."""
    for m in BLOCK.finditer(path.read_text()):
        quote = QUOTE.match(m.group(2))
        if quote:
            want = _source_of(*quote.groups()).rstrip("\n")
            got = m.group(3).rstrip("\n")
            assert got == want, f"{path.name}: the quote of {quote.group(1)}::{quote.group(2)} differs from the source"


def fill_quotes(path: Path) -> None:
    """Rewrite every quote block of a lesson with the current source."""

    def fill(m):
        quote = QUOTE.match(m.group(2))
        if not quote:
            return m.group(0)
        return f"```{m.group(1)}{m.group(2)}\n{_source_of(*quote.groups()).rstrip()}\n```\n"  # BLOCK ate the newline

    path.write_text(BLOCK.sub(fill, path.read_text()))


def test_there_are_lessons():
    assert len(LESSONS) >= 11, [p.name for p in LESSONS]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_code_runs_and_outputs_match(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = _blocks(path.read_text())
    ns: dict = {"__name__": f"lesson_{path.stem.replace('-', '_')}"}
    ran = 0
    for i, (lang, code) in enumerate(blocks):
        if lang != "python" or code.lstrip().startswith("# no-run"):
            continue
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                exec(compile(code, f"{path.name}[block {i}]", "exec"), ns)
            except Exception as e:  # name the lesson and block
                raise AssertionError(f"{path.name}: python block {i} raised {type(e).__name__}: {e}\n{code}") from e
        ran += 1
        if i + 1 < len(blocks) and blocks[i + 1][0] in ("output", "mermaid"):
            want = "\n".join(ln.rstrip() for ln in blocks[i + 1][1].strip("\n").splitlines())
            got = "\n".join(ln.rstrip() for ln in buf.getvalue().strip("\n").splitlines())
            assert got == want, f"{path.name}: output of block {i} differs\n--- shown\n{want}\n--- actual\n{got}"
    assert ran > 0, f"{path.name} has no runnable python block"


def _resolve(file: str, symbol: str | None):
    assert (ROOT / file).is_file(), f"referenced file {file} does not exist"
    if not symbol:
        return
    obj = importlib.import_module(_module_name(file))
    for part in symbol.split("."):
        assert hasattr(obj, part), f"{file}::{symbol}: {part!r} not found"
        obj = getattr(obj, part)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_references_exist(path):
    text = path.read_text()
    refs = REF.findall(text)
    assert refs, f"{path.name} names no file of the project"
    for file, symbol in refs:
        _resolve(file, symbol)
    for link in LINK.findall(text):
        target = (path.parent / link).resolve()
        assert target.exists(), f"{path.name}: broken link {link}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_ends_with_exercises(path):
    assert re.search(r"^## Exercises", path.read_text(), re.M), f"{path.name} has no Exercises section"


SYMBOL_REF = re.compile(r"`((?:minigrad|parity|solubility|benchmarks|lessons|tests)/[\w/.-]+\.py)::([\w.]+)`")
FILES_HEADER = re.compile(r"^Files:.*?(?:\n[ \t]*\n|\Z)", re.S | re.M)  # the paragraph, up to the blank line


def taught_files(text: str) -> set:
    """The files a lesson teaches: those it quotes (```python quote path::Name) or names with a symbol
    (`path::Name`) in its prose. A bare path, a path in the "Files:" header or a name inside a code block
    does not count: a reader learns a module from the code shown or explained, not from its name."""
    files = {quote.group(1) for m in BLOCK.finditer(text) if (quote := QUOTE.match(m.group(2)))}
    prose = FILES_HEADER.sub("\n", BLOCK.sub("\n", text))
    files.update(file for file, _ in SYMBOL_REF.findall(prose))
    return files


def _defines_code(path: Path) -> bool:
    """Whether a module defines a function or class of its own (a package __init__ may only re-export)."""
    return any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in ast.parse(path.read_text()).body
    )


def untaught_modules(lessons=LESSONS) -> list:
    """Every module of minigrad/ that no lesson teaches (see :func:`taught_files`). A package's __init__.py
    that defines nothing of its own counts as taught when a module of its package is."""
    taught = set().union(*(taught_files(p.read_text()) for p in lessons))
    missing = []
    for path in sorted((ROOT / "minigrad").rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module in taught:
            continue
        package = module[: -len("__init__.py")] if path.name == "__init__.py" else None
        if package and not _defines_code(path) and any(t.startswith(package) for t in taught):
            continue
        missing.append(module)
    return missing


def test_taught_counts_quotes_and_symbols_in_prose_only():
    text = (
        "Files: `minigrad/a.py`, `minigrad/b.py::B`,\n`minigrad/c.py::C`.\n\n"
        "Prose names `minigrad/d.py` bare and `minigrad/e.py::E.f` with a symbol.\n\n"
        "```python quote minigrad/f.py::F\nclass F: ...\n```\n\n"
        "```python\n# `minigrad/g.py::G` inside code\n```\n"
    )
    assert taught_files(text) == {"minigrad/e.py", "minigrad/f.py"}


def test_every_minigrad_module_is_taught_somewhere():
    missing = untaught_modules()
    assert not missing, (
        f"{len(missing)} modules no lesson teaches (quote one of their symbols, or explain one as "
        f"`path::Symbol` outside the Files: header): {', '.join(missing)}"
    )


def test_readme_links_the_lessons_in_order():
    readme = (ROOT / "README.md").read_text()
    positions = [readme.find(f"lessons/{p.name}") for p in LESSONS]
    assert all(pos >= 0 for pos in positions), "README must link every lesson"
    assert positions == sorted(positions), "README must list the lessons in order"


if __name__ == "__main__":  # python -m tests.test_lessons --fill: refresh every quote block from the source
    import sys

    if "--fill" in sys.argv:
        for lesson in LESSONS:
            fill_quotes(lesson)
    if "--untaught" in sys.argv:  # the modules no lesson teaches yet
        print("\n".join(untaught_modules()))
