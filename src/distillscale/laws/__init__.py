"""The scaling laws as pure math (numpy only), one module each, and their registry.

``LAWS`` maps a law's name (docs/conventions.md) to an instance; :func:`get_law` looks one up and
names the choices when the name is unknown. :func:`load_published` loads a bundled published
coefficient set (``"@busbridge2025"``).
"""

from __future__ import annotations

from distillscale.laws.base import Law, Param
from distillscale.laws.published import PublishedSet, list_published, load_published
from distillscale.laws.registry import LAWS, get_law

__all__ = ["LAWS", "Law", "Param", "PublishedSet", "get_law", "list_published", "load_published"]
