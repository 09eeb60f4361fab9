"""A/B of zoo's layers with and without the hoisted input projection.

Rows ``zoo``: the projection of all timesteps hoisted before the loop
(``cell.project_inputs`` on the whole sequence); rows ``nohoist``: ``x_t``
projected inside each step, the rest of zoo's loop unchanged. Where the zoo
layers have the ``input_projection`` switch ("hoisted" / "per_step") the two
are subclasses setting it; for the layers of commit 99bad21, which always
hoisted, ``nohoist`` overrides the sweep. Both run round-robin with Keras's
built-in layer through the harness of ``benchmarks.rnn_throughput``.

    python -m benchmarks.prototypes.zoo_hoist --backend tensorflow --cells lstm
"""

import argparse
import os
import sys


def with_projection(layer_cls, mode):
    """Subclass of a zoo layer whose `input_projection` is `mode` (zoo layers
    that have the switch: "hoisted" or "per_step")."""
    return type(f"{layer_cls.__name__}_{mode}", (layer_cls,), {"input_projection": mode})


def no_hoist(layer_cls):
    """Subclass of a zoo layer whose sweep projects x_t inside the step."""
    if hasattr(layer_cls, "input_projection"):
        return with_projection(layer_cls, "per_step")
    from zoo import cells as zoo_cells
    from zoo.loop import time_loop

    class NoHoist(layer_cls):
        def _sweep(self, cell, x, states, mask, training, keep_sequence):
            if not isinstance(cell, zoo_cells._ZooCell):
                return super()._sweep(cell, x, states, mask, training, keep_sequence)
            input_mask, recurrent_mask = cell.get_dropout_masks(x[0], states[0], training)
            if input_mask is not None:
                x = x * input_mask

            def step(x_t, step_states):
                return cell.recurrent_step(cell.project_inputs(x_t), step_states, recurrent_mask)

            return time_loop(step, x, states, self._output_size(cell), mask=mask,
                             zero_output_for_mask=self.zero_output_for_mask, unroll=self.unroll,
                             return_sequences=keep_sequence)

    NoHoist.__name__ = layer_cls.__name__ + "NoHoist"
    return NoHoist


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax"])
    p.add_argument("--cells", default="simple,gru,lstm")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    os.environ["KERAS_BACKEND"] = a.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from benchmarks import rnn_throughput as bench
    from zoo import layers as zoo_layers

    shape = tuple((bench.QUICK if a.quick else bench.REFERENCE)[k]
                  for k in ("batch", "steps", "features", "units"))
    jits = [False, True] if a.backend == "tensorflow" else [True]
    contenders = []
    for cell in a.cells.split(","):
        name = bench.KERAS_NAMES[cell]
        for jit in jits:
            zoo_cls = getattr(zoo_layers, name)
            if hasattr(zoo_cls, "input_projection"):
                zoo_cls = with_projection(zoo_cls, "hoisted")
            for family, cls in (("zoo", zoo_cls),
                                ("nohoist", no_hoist(getattr(zoo_layers, name))),
                                ("keras", getattr(keras.layers, name))):
                contenders.append(bench.KerasContender(family, cls, cell, jit, shape))
    notes = []
    rows = bench.measure(contenders, shape, shape[1], a.repeats, notes,
                         log=lambda s: print(s, file=sys.stderr, flush=True))
    bench.add_ratios(rows, shape, rate=1.0)
    print(bench.format_table(rows))
    print("\n".join(notes))


if __name__ == "__main__":
    main()
