"""Entry points on the path without installing: a ``*.dist-info`` folder is enough.

``importlib.metadata`` finds a distribution through a
``<name>-<version>.dist-info`` folder (``METADATA`` + ``entry_points.txt``) on
``sys.path``. The suite uses this twice: the plugin test registers a recipe
of its own this way, and :func:`ensure_project_recipes` registers this
repository's recipes when the installed metadata predates the ``zoo.recipes``
group (a virtual environment installed from an older ``pyproject.toml``;
``scripts/_venv.sh`` reinstalls whenever ``pyproject.toml`` changes).
"""

import os
import sys
import tomllib
from importlib import metadata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUP = "zoo.recipes"


def write_dist_info(root, name, version, entry_points):
    """Write ``root/<name>-<version>.dist-info`` with ``entry_points`` (group -> {name: value})."""
    folder = os.path.join(root, f"{name}-{version}.dist-info")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    with open(os.path.join(folder, "entry_points.txt"), "w") as f:
        for group, points in entry_points.items():
            f.write(f"[{group}]\n")
            f.writelines(f"{key} = {value}\n" for key, value in points.items())
            f.write("\n")
    return folder


def project_recipes():
    """This repository's ``zoo.recipes`` entry points, from ``pyproject.toml``."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    return dict(project.get("entry-points", {}).get(GROUP, {}))


def ensure_project_recipes(folder):
    """Register this repository's recipes under ``folder`` unless the installed metadata has them.

    Returns the folder added to ``sys.path`` and ``PYTHONPATH`` (so that
    subprocesses see it too), or None when nothing was missing.
    """
    wanted = project_recipes()
    found = {ep.name: ep.value for ep in metadata.entry_points(group=GROUP)}
    if all(found.get(k) == v for k, v in wanted.items()):
        return None
    write_dist_info(folder, "rnn_zoo_recipes", "0.0.0", {GROUP: wanted})
    sys.path.insert(0, folder)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [folder, os.environ.get("PYTHONPATH")]))
    return folder
