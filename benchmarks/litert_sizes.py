"""The LiteRT export of each embedded recipe's model: ``model.tflite`` size and ops.

For every embedded recipe (data built in, no download) this builds the
recipe's model (untrained: sizes and ops do not depend on the weights),
exports it with ``zoo.export.export_litert`` (verified with the ai-edge-litert
interpreter in a fresh process) and prints a Markdown table: parameters,
``.tflite`` size, signatures, and whether Select TF ops were needed (and the
TF op that forced them). With ``--stock-loop`` the zoo's stock TensorFlow time
loop is converted instead, to show what needs Select TF ops without the
LiteRT loop.

``--config tiny`` (default) builds the TINY config's model, on TINY data;
``--config full`` the recipe's default model architecture, still on the TINY
data settings (vocabularies of text recipes come from that data).

Run: ``python -m benchmarks.litert_sizes [--config tiny|full] [--stock-loop]``
"""

import argparse
import tempfile
import time
from pathlib import Path

EMBEDDED = ("chorale_generation", "chorale_harmonization", "japanese_vowels",
            "sequential_digits", "dates", "g2p", "adding_problem", "copy_memory",
            "sunspots")


def _config(module, which):
    from zoo import recipe

    tiny = dict(getattr(module, "TINY", {}))
    if which == "tiny":
        return recipe.make_config(module, tiny=True)
    tiny.pop("model", None)
    tiny.pop("epochs", None)
    return recipe.make_config(module, overrides=[f"{k}={v!r}" for k, v in tiny.items()])


def measure(name, which, builtin_loop, folder):
    from zoo import export, recipe

    module = recipe.get_recipe(name)
    config = _config(module, which)
    data = module.load_data(config)
    model = module.build_model(config, data)
    path = Path(folder) / name / "model.tflite"
    start = time.perf_counter()
    try:
        export.export_litert(model, path, builtin_loop=builtin_loop)
        verified = "yes"
    except RuntimeError as err:
        if "Select TF ops" not in str(err):
            raise
        export.export_litert(model, path, builtin_loop=builtin_loop, verify=False)
        verified = "no (Flex)"
    info = export.read_litert_info(path)
    ops = info["ops"]
    return {
        "recipe": name,
        "model": info["model"].get("name"),
        "parameters": int(model.count_params()),
        "kib": info["size_bytes"] / 1024,
        "signatures": ", ".join(sorted(info["signatures"])),
        "select_tf": ", ".join(ops["select_tf"]) or "none",
        "forced_by": ", ".join(ops["select_tf_forced_by"]) or "-",
        "verified": verified,
        "seconds": time.perf_counter() - start,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=["tiny", "full"], default="tiny")
    parser.add_argument("--stock-loop", action="store_true",
                        help="convert the stock TensorFlow loop (TensorArrays)")
    parser.add_argument("--recipes", nargs="*", default=list(EMBEDDED))
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.recipes:
            rows.append(measure(name, args.config, not args.stock_loop, folder))
            print(f"# {name}: {rows[-1]['seconds']:.1f} s", flush=True)
    loop = "stock TensorFlow loop" if args.stock_loop else "LiteRT loop"
    print(f"\n{args.config} config, {loop}\n")
    print("| recipe | model | parameters | model.tflite | signatures | Select TF ops "
          "(forced by) | verified |")
    print("|---|---|---:|---:|---|---|---|")
    for r in rows:
        forced = f" ({r['forced_by']})" if r["forced_by"] != "-" else ""
        print(f"| {r['recipe']} | {r['model']} | {r['parameters']:,} | {r['kib']:.1f} KiB | "
              f"{r['signatures']} | {r['select_tf']}{forced} | {r['verified']} |")


if __name__ == "__main__":
    main()
