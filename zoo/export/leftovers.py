"""Temporary files of an export beside its target, and their removal after a killed export."""

import os
import platform
import re
import shutil
import sys
import time
import uuid
from pathlib import Path


# An export's temporary files in the target's parent folder: the SavedModel
# being written, the verification cases and the replaced export. Their names
# carry the owner's host and pid, so that a later export removes those of a
# killed export and leaves a live concurrent one's alone.
_LEFTOVER = re.compile(
    r"^\.(?P<name>.+)\.(?P<kind>partial|old|cases)-(?P<host>[A-Za-z0-9_.-]+?)-(?P<pid>\d+)-"
    r"[0-9a-f]{8}(?:\.npz)?$")
_UNOWNED = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old|cases)-[0-9a-f]{8}(?:\.npz)?$")
# A leftover older than this is removed whoever wrote it (a host we cannot check).
LEFTOVER_MAX_AGE = 24 * 3600


def _host():
    return re.sub(r"[^A-Za-z0-9_.-]", "_", platform.node() or "host")


def _owner():
    return f"{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def prepare_target(path, overwrite):
    """Before an export to `path`: refuse an existing target unless `overwrite`, make
    its folder, and clear the folder of what killed exports left there."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"Export target exists: {path}; to replace it, pass --overwrite to `zoo export` "
            "(overwrite=True in Python), or choose another target (`zoo export --to DIR`, "
            "`zoo train --export-dir DIR`).")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent)


def temporary_path(path, kind, suffix=""):
    """A hidden sibling of `path` owned by this process: ``.<name>.<kind>-<host>-<pid>-<id>``
    (`kind` is "partial", "old" or "cases"), which :func:`remove_leftovers` recognises."""
    path = Path(path)
    return path.parent / f".{path.name}.{kind}-{_owner()}{suffix}"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_leftovers(folder, *, now=None):
    """Remove the temporary files of dead exports from ``folder``.

    An export writes ``.<name>.partial-<host>-<pid>-<id>/`` and
    ``.<name>.cases-<host>-<pid>-<id>.npz`` next to its target, and removes
    them when it ends; a killed one leaves them. They are removed here when
    their process is dead (same host) or they are older than
    :data:`LEFTOVER_MAX_AGE` (another host's, or an older zoo's unnamed
    ones); a live concurrent export's are kept. A previous export that a
    killed export had moved aside (``.<name>.old-...``) and not yet replaced
    goes back to ``<name>``.

    Returns:
        The removed paths, sorted.
    """
    folder = Path(folder)
    now = time.time() if now is None else now
    removed, restored = [], []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        owned, unowned = _LEFTOVER.match(entry.name), _UNOWNED.match(entry.name)
        if not (owned or unowned):
            continue
        try:
            age = now - entry.lstat().st_mtime
        except FileNotFoundError:
            continue
        dead = bool(owned and owned["host"] == _host() and not _alive(int(owned["pid"])))
        if not (dead or age > LEFTOVER_MAX_AGE):
            continue
        match = owned or unowned
        target = folder / match["name"]
        if match["kind"] == "old" and entry.is_dir() and not target.exists():
            # Killed between moving the previous export aside and putting the
            # new one in its place: the previous export goes back.
            os.replace(entry, target)
            restored.append(str(target))
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(str(entry))
    for target in restored:
        print(f"notice: {target} restored: an interrupted export had moved it aside.",
              file=sys.stderr, flush=True)
    if removed:
        print(f"notice: removed {len(removed)} leftover(s) of interrupted exports from {folder}: "
              + ", ".join(os.path.basename(p) for p in removed), file=sys.stderr, flush=True)
    return removed
