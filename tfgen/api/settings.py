"""Where tfgen keeps its caches, from an environment the caller passes in (never ``os.environ``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tfgen import __version__


def user_cache_dir(env: Mapping[str, str]) -> Path:
    """tfgen's cache directory: ``$XDG_CACHE_HOME/tfgen``, else ``$HOME/.cache/tfgen``."""
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "tfgen"


def template_cache_dir(env: Mapping[str, str]) -> Path:
    """Compiled templates of this tfgen version (see :func:`tfgen.api.render`)."""
    return user_cache_dir(env) / "templates" / __version__


def plugin_cache_dir(env: Mapping[str, str]) -> Path:
    """The provider cache shared by every working directory (``TF_PLUGIN_CACHE_DIR``)."""
    return user_cache_dir(env) / "plugin-cache"
