"""Jinja2 templates that turn klgen's kernel specs into numpy source (shipped with the package)."""

from pathlib import Path

DIRECTORY = Path(__file__).parent
