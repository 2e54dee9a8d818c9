"""Sphinx configuration of the bptt-check documentation.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pages are MyST Markdown; tutorials are MyST notebooks executed by myst-nb at every build with
changed code (cached under docs/_build/.jupyter_cache), so every number on a page comes from
the build, and a cell that raises fails it.  Math is rendered to MathML at build time
(_ext/mathml.py) and a build check (_ext/offline.py) fails the build if any page would load
something from the network.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))

import sphinx.ext.autosummary  # noqa: E402

import bptt_check  # noqa: E402  (after the path of the local extensions)

# The summary line of an API table is a docstring's first sentence; this project's docstrings
# cite the article as "eq. (7)", which is no sentence end (as "e.g." is not).
if "eq." not in sphinx.ext.autosummary.WELL_KNOWN_ABBREVIATIONS:
    sphinx.ext.autosummary.WELL_KNOWN_ABBREVIATIONS += ("eq.", "Eq.")

project = "bptt-check"
author = "the bptt-check authors"
copyright = "2026, the bptt-check authors"  # noqa: A001  (Sphinx's name)
release = bptt_check.__version__
version = release

extensions = [
    "myst_nb",  # MyST Markdown and executed MyST notebooks (it includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinxarg.ext",  # the CLI page from the argparse parser
    "mathml",  # math as MathML at build time: no CDN, no JavaScript
    "offline",  # the build fails if a page loads from another host
    "plaindocstrings",  # |x| and (T, *shape) in docstrings print as written
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build", "README-draft.md", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["bptt-check.css"]

# -- math -----------------------------------------------------------------------------------
html_math_renderer = "mathml"

# -- MyST and execution ------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("BPTT_DOCS_EXECUTE", "cache")
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_show_tb = True
nb_merge_streams = True
nb_ipywidgets_js = {}  # never the widget manager from a CDN
nb_render_image_options = {"align": "center"}

# -- API reference -----------------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False  # each package's __all__ is its public face
autosummary_imported_members = True
autodoc_typehints = "none"  # the signatures carry the hints; numpydoc renders the docstrings
autodoc_default_options = {"member-order": "bysource"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- HTML --------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"bptt-check {release}"
html_theme_options = {"navigation_with_keys": True}
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
smartquotes_action = "qe"  # quotes and ellipses, never dashes: --show stays --show
