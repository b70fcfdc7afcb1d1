"""Sphinx configuration: numpydoc docstrings, autosummary pages, a sphinx-gallery of examples.

Build (warnings as errors, into a directory outside the source tree)::

    python -m sphinx -W --keep-going -b html doc /tmp/skglm-fisher-html

Everything the build generates inside ``doc/`` (``gen_modules/``, ``auto_examples/``) is
ignored by git; the gallery's execution-times page is not written.
"""

import importlib
import pkgutil
import re
from pathlib import Path

from sphinx.util import logging

import skglm_fisher

project = "skglm-fisher"
author = "skglm-fisher developers"
copyright = "skglm-fisher developers"  # noqa: A001 (Sphinx's name)
release = skglm_fisher.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates"]
root_doc = "index"

# Every public name gets its own page; classes list their methods with parameters.
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc sections carry the types
numpydoc_show_class_members = False  # the class template documents members itself
numpydoc_class_members_toctree = False

# Cross-references inside the project must resolve. References into other projects' docs
# cannot (there are no inventories offline), so they are ignored.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(numpy|np|scipy|sklearn|pandas|pd|dask|statsmodels|glum|joblib|skops"
        r"|matplotlib|tfp|tf|tensorflow)(\..*)?",
    ),  # fmt: skip
    (r"py:.*", r"(array-like|array_like|ndarray|callable|optional|default.*)"),
]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "doc_module": ("skglm_fisher",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"skglm_fisher": None},
    "write_computation_times": False,  # would write sg_execution_times.rst into doc/
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

html_theme = "pydata_sphinx_theme"
html_title = f"skglm-fisher {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"changelog": [], "install": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False

# --------------------------------------------------------------------------------------------
# The API reference must list every public name.
# --------------------------------------------------------------------------------------------
PUBLIC_MODULES = (
    "skglm_fisher",
    "skglm_fisher.glm",
    "skglm_fisher.losses",
    "skglm_fisher.heads",
    "skglm_fisher.optim",
    "skglm_fisher.gradients",
    "skglm_fisher.exceptions",
)

logger = logging.getLogger(__name__)


def _documented_names(api_rst: Path) -> set[str]:
    """Fully qualified names listed in the autosummary tables of ``api.rst``."""
    names, module, in_table = set(), None, False
    for line in api_rst.read_text().splitlines():
        match = re.match(r"\.\. (?:currentmodule|automodule):: (\S+)", line)
        if match:
            module = match.group(1)
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table and line and not line.startswith(" "):
            in_table = False
        entry = line.strip()
        if in_table and entry and not entry.startswith(":"):
            names.add(entry if entry.startswith("skglm_fisher") else f"{module}.{entry}")
    return names


def check_api_reference(app):
    """Warn (an error under ``-W``) about public names or modules missing from ``api.rst``."""
    public = [
        f"skglm_fisher.{info.name}"
        for info in pkgutil.iter_modules(skglm_fisher.__path__)
        if not info.name.startswith("_")
    ]
    for module in public:
        if module not in PUBLIC_MODULES:
            logger.warning(f"public module {module} is not in doc/conf.py's PUBLIC_MODULES")
    documented = _documented_names(Path(app.srcdir) / "api.rst")
    for module in PUBLIC_MODULES:
        for name in importlib.import_module(module).__all__:
            if not name.startswith("__") and f"{module}.{name}" not in documented:
                logger.warning(f"{module}.{name} is public but missing from doc/api.rst")


_SPHINX_ROLE = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*(?:<[^`>]*>)?`")


def plain_foreign_roles(app, what, name, obj, options, lines):
    """Docstrings inherited from scikit-learn link to labels of scikit-learn's own site
    (``:ref:`accuracy <accuracy_score>```); keep their text, drop the dangling link."""
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("sklearn"):
        lines[:] = [_SPHINX_ROLE.sub(r"\1", line) for line in lines]


def setup(app):
    app.connect("builder-inited", check_api_reference)
    app.connect("autodoc-process-docstring", plain_foreign_roles, priority=400)
