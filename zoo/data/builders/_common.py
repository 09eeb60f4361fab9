"""Helpers shared by the dataset builders: split assignment, caching, citations."""

import hashlib
import os
import pathlib
import tempfile

SPLITS = ("train", "validation", "test")


def stable_fraction(key):
    """A number in [0, 1) fixed by `key` alone (MD5), the same on every machine.

    Used to assign an item to a split by its identity rather than by its position,
    so adding or removing items elsewhere does not move it.
    """
    digest = hashlib.md5(str(key).encode("utf-8")).hexdigest()
    return int(digest[:12], 16) / float(16**12)


def split_of(key, validation=0.1, test=0.1):
    """Deterministic split name of `key` for the given validation/test fractions."""
    u = stable_fraction(key)
    if u < test:
        return "test"
    if u < test + validation:
        return "validation"
    return "train"


def cache_dir(*parts):
    """A folder for expensive intermediate results that survive across builds.

    `$ZOO_CACHE_DIR` if set, else `$XDG_CACHE_HOME/rnn-zoo` (default ~/.cache/rnn-zoo).
    """
    root = os.environ.get("ZOO_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "rnn-zoo")
    path = pathlib.Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_cache_file(path, text):
    """Write `text` to the cache file `path` so that no reader sees it half-written.

    The text goes to a uniquely named temporary file beside `path`, renamed over it:
    several processes (test workers, parallel builds) filling the same cache at once
    each rename their own file, and the last complete one wins.
    """
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def package_dir(module_name):
    """Folder of an installed package without importing it (None when not installed)."""
    import importlib.util

    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return pathlib.Path(list(spec.submodule_search_locations)[0])


def require(module_name, pip_name, dataset):
    """Import `module_name` for `dataset`, or raise an ImportError saying what to install."""
    import importlib

    try:
        return importlib.import_module(module_name)
    except ImportError as err:
        raise ImportError(
            f"The dataset '{dataset}' is built from the Python package '{pip_name}', which is "
            f"not installed. Install it with `pip install {pip_name}`."
        ) from err
