"""Sphinx configuration: numpydoc docstrings and a sphinx-gallery of ``examples/plot_*.py``."""

import skglm_fisher

project = "skglm-fisher"
release = skglm_fisher.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
}
html_theme = "alabaster"
