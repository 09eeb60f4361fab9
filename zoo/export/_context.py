"""What every signature group of an export shares: the TensorFlow check, the
model's input specs, the export's settings (:class:`Context`), and calling an
endpoint in process."""

import dataclasses

import keras


def tf():
    """The ``tensorflow`` module, after checking that Keras runs on it."""
    if keras.config.backend() != "tensorflow":
        raise RuntimeError(
            "zoo.export needs the TensorFlow backend (KERAS_BACKEND=tensorflow). "
            f"Received: backend={keras.config.backend()!r}"
        )
    import tensorflow

    return tensorflow


@dataclasses.dataclass
class Context:
    """The settings of one export, seen by every signature group.

    Attributes:
        beam_width: beam width of the ``beam_search`` signature (fixed at export).
        artifacts: the run's artifacts (vocabularies, normalisers, ...), name -> JSON
            object; empty for a bare model.
        batch_sizes, sequence_lengths: the shapes verification tries.
        scratch: the temporary folder of the archive's vocabulary files.
    """

    beam_width: int = 4
    artifacts: dict = dataclasses.field(default_factory=dict)
    batch_sizes: tuple = (1, 3)
    sequence_lengths: tuple = (4, 7)
    scratch: str = None


def input_specs(model):
    """name -> ``tf.TensorSpec`` of each model input, batch size left open."""
    tf_ = tf()
    specs = {}
    for t in model.inputs:
        shape = (None,) + tuple(t.shape[1:])
        specs[t.name] = tf_.TensorSpec(shape, t.dtype, name=t.name)
    return specs


def run_endpoint(endpoint, inputs):
    """Call a traced endpoint in process on a dict of NumPy inputs (in signature order);
    its outputs as NumPy arrays."""
    out = endpoint(*inputs.values())
    return {k: keras.ops.convert_to_numpy(v) for k, v in out.items()}
