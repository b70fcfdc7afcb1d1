"""The README's Python examples and the documentation pages' ``>>>`` examples run as written."""

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
DOC_PAGES = sorted((ROOT / "doc").glob("**/*.rst"))
GENERATED = ("gen_modules", "auto_examples", "_build")
DOC_PAGES = [page for page in DOC_PAGES if not set(GENERATED) & set(page.parts)]


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(block, capsys):
    exec(compile(block, str(README), "exec"), {})


def test_readme_points_to_the_docs_and_the_command_line():
    text = README.read_text()
    assert "pip install . && python -m skglm_fisher\n" in text
    assert 'pip install ".[test]" && python -m pytest\n' in text
    assert "doc/" in text and "skglm-fisher --help" in text


@pytest.mark.skipif(not DOC_PAGES, reason="documentation sources not present")
@pytest.mark.parametrize("page", DOC_PAGES, ids=[p.stem for p in DOC_PAGES])
def test_doc_page_examples(page):
    pytest.importorskip("pandas")
    pytest.importorskip("skops")
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags,
                              raise_on_error=False, report=True, verbose=False)  # fmt: skip
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page}"
