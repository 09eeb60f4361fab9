"""`load`: one entry point over the offline builders and the standard TFDS sets.

The offline builders (see `zoo.data.builders`) are generated on first use into
`data_dir` and reused afterwards. A standard TFDS set (imdb_reviews,
ted_hrlr_translate, conll2003, tiny_shakespeare) is read from `data_dir` when it
has been prepared there; when it has not, `load` checks first, in a few seconds,
whether its source can be downloaded (or is in `manual_dir`), and otherwise raises
`DatasetNotAvailableError` saying how to provide it, instead of letting TFDS retry
the download for minutes.
"""

import contextlib
import io
import os
import socket
import sys
import threading
import urllib.parse

import tensorflow_datasets as tfds

from zoo.data.builders import BUILDERS

# Standard TFDS sets with pipelines in `zoo.data.standard`: default config and task.
STANDARD_DATASETS = {
    "imdb_reviews": "sentiment classification (many-to-one)",
    "ted_hrlr_translate": "Portuguese -> English translation, config pt_to_en (encoder-decoder)",
    "conll2003": "named-entity tagging (many-to-many, Tx = Ty)",
    "tiny_shakespeare": "character language model (one-to-many generation)",
}
# Download hosts for sets whose TFDS builder ships no checksums file.
_FALLBACK_HOSTS = {"conll2003": ("data.deepai.org",)}
PROBE_TIMEOUT_S = 3.0


class DatasetNotAvailableError(RuntimeError):
    """A standard TFDS set is not prepared locally and cannot be downloaded here."""


def list_datasets():
    """Names accepted by `load`: the offline builders, then the standard TFDS sets."""
    return sorted(BUILDERS) + sorted(STANDARD_DATASETS)


def base_name(name):
    """'ted_hrlr_translate/pt_to_en:1.0.0' -> 'ted_hrlr_translate'."""
    return name.split("/")[0].split(":")[0]


def check_name(name):
    """ValueError listing the known names unless `name` is one of them."""
    if (
        not isinstance(name, str)
        or base_name(name) not in BUILDERS
        and base_name(name) not in STANDARD_DATASETS
    ):
        raise ValueError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(list_datasets())} "
            "(configs with a slash, e.g. 'adding_problem/length_100')."
        )


def get_builder(name, *, data_dir=None, config=None):
    """The TFDS builder of a known dataset (`config`: a BuilderConfig object or name)."""
    check_name(name)
    kwargs = {"data_dir": data_dir}
    if config is not None:
        kwargs["config"] = config
    return tfds.builder(name, **kwargs)


def load(
    name,
    split="train",
    *,
    data_dir=None,
    config=None,
    manual_dir=None,
    download=True,
    download_mode=None,
    as_supervised=False,
    shuffle_files=False,
    read_config=None,
    with_info=False,
):
    """Load a split of an offline builder or a standard TFDS set as a `tf.data.Dataset`.

    Args:
        name: a name from `list_datasets()`, optionally with a config and version
            ("adding_problem/length_200", "ted_hrlr_translate/pt_to_en").
        split: a TFDS split string ("train", "validation", "test", "train[:90%]", ...).
        data_dir: TFDS data folder; default TFDS's own (`$TFDS_DATA_DIR` or
            ~/tensorflow_datasets). What was built there is reused.
        config: a `tfds.core.BuilderConfig` (or config name) instead of a "/config"
            in `name`, e.g. `BachChoralesConfig(name="tiny", max_chorales=12)`.
        manual_dir: folder of your own files (`text_folder`) or of already downloaded
            source archives of a standard set.
        download: allow downloading a standard set that is not prepared.
        download_mode: a `tfds.download.GenerateMode` or its string value.
        as_supervised, shuffle_files, read_config: as in `tfds.load`.
        with_info: also return the `tfds.core.DatasetInfo`.

    Returns:
        The unbatched `tf.data.Dataset` of examples (dicts of tensors, or
        (input, target) pairs when `as_supervised`), and the info if `with_info`.

    Raises:
        ValueError: unknown name (the message lists the known ones).
        DatasetNotAvailableError: a standard set that is neither prepared in
            `data_dir` nor obtainable here; raised within seconds.
    """
    builder = get_builder(name, data_dir=data_dir, config=config)
    dl_config = tfds.download.DownloadConfig(
        manual_dir=manual_dir,
        download_mode=download_mode or tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS,
        try_download_gcs=False,
    )
    read = dict(split=split, as_supervised=as_supervised, shuffle_files=shuffle_files)
    if read_config is not None:
        read["read_config"] = read_config
    if base_name(name) in BUILDERS:
        _prepare_offline(builder, name, dl_config)
        dataset = builder.as_dataset(**read)
    else:
        dataset = _load_standard(builder, name, read, dl_config, download, manual_dir)
    return (dataset, builder.info) if with_info else dataset


def _prepare_offline(builder, name, dl_config):
    """Generate an offline builder's data on first use.

    Under the quiet command line (:func:`zoo._quiet.install`) one line of ours replaces
    TFDS's progress bars and its "Downloading and preparing dataset Unknown size"
    notices (given back when the generation fails); elsewhere TFDS speaks as usual."""
    from zoo import _quiet

    prepared = os.path.exists(os.path.join(builder.data_dir, "dataset_info.json"))
    if not _quiet.active() or prepared:
        builder.download_and_prepare(download_config=dl_config)
        return
    print(f"Preparing the dataset {name} in {builder.data_dir_root} (first use only)...",
          file=sys.stderr, flush=True)
    said = io.StringIO()
    tfds.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(said):
            builder.download_and_prepare(download_config=dl_config)
    except BaseException:
        sys.stdout.write(said.getvalue())
        raise
    finally:
        tfds.enable_progress_bar()


def _load_standard(builder, name, read, dl_config, download, manual_dir):
    try:
        # Prepared data, or a mocked TFDS in tests: no download involved.
        return builder.as_dataset(**read)
    except AssertionError:
        if builder.is_prepared():
            raise
    urls = sorted(builder.url_infos or {})
    in_manual = _files_in_manual_dir(builder, manual_dir or _default_manual_dir(builder))
    reachable = None
    if not in_manual and download:
        reachable = download_possible(_hosts(builder, urls))
    if in_manual or reachable:
        builder.download_and_prepare(download_config=dl_config)
        return builder.as_dataset(**read)
    raise DatasetNotAvailableError(_not_available_message(builder, name, urls, download))


def _default_manual_dir(builder):
    """TFDS's own default manual folder: ``<data_dir>/downloads/manual``."""
    return os.path.join(builder.data_dir_root, "downloads", "manual")


def _files_in_manual_dir(builder, manual_dir):
    """True when every source file the builder downloads is already in `manual_dir`."""
    infos = builder.url_infos or {}
    if not manual_dir or not infos:
        return False
    return all(
        info.filename and os.path.exists(os.path.join(manual_dir, info.filename))
        for info in infos.values()
    )


def _hosts(builder, urls):
    hosts = tuple(urllib.parse.urlparse(u).hostname for u in urls)
    return hosts or _FALLBACK_HOSTS.get(builder.name, ())


def download_possible(hosts, timeout=PROBE_TIMEOUT_S):
    """Whether a TCP connection to every host (port 443) opens within `timeout` seconds.

    False at once when `$ZOO_OFFLINE` is set or there is no host to try. The probe
    runs in a daemon thread so that a slow name lookup cannot hold the caller.
    """
    if os.environ.get("ZOO_OFFLINE") or not hosts:
        return False
    result = {}

    def probe():
        try:
            for host in hosts:
                socket.create_connection((host, 443), timeout=timeout).close()
            result["ok"] = True
        except OSError:
            result["ok"] = False

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout * max(1, len(hosts)) + 1.0)
    return result.get("ok", False)


def _not_available_message(builder, name, urls, download):
    reason = (
        "downloading was disabled (download=False)"
        if not download
        else "its source cannot be reached from this machine"
    )
    root = builder.data_dir_root
    ways = [
        f"on a machine with internet, run `tfds build {name} --data_dir DIR` (or "
        f"`tfds.load({name!r}, data_dir=DIR)`), copy DIR here and pass --data-dir DIR to "
        "`zoo train`, `zoo evaluate` or `zoo tune` (data_dir=DIR in Python, or set "
        "TFDS_DATA_DIR);"
    ]
    if builder.url_infos:
        files = ", ".join(f"{i.filename} (from {u})" for u, i in sorted(builder.url_infos.items()))
        ways.append(f"or put the source file(s) {files} into DIR/downloads/manual and pass "
                    f"--data-dir DIR (here: {os.path.join(root, 'downloads', 'manual')}; "
                    "manual_dir= in Python);")
    ways.append("or use a dataset that builds offline: " + ", ".join(sorted(BUILDERS)) + ".")
    lines = [
        f"The TFDS dataset {name!r} is not prepared in {builder.data_dir_root} and {reason}.",
        "To provide it:",
    ] + [f"  {i}. {way}" for i, way in enumerate(ways, start=1)]
    return "\n".join(lines)
