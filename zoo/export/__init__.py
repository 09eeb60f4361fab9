"""SavedModel (and LiteRT) export of zoo models, with serving signatures and verification.

``export_saved_model(model, path)`` writes a TensorFlow SavedModel (through
the public ``keras.export.ExportArchive``). Its signatures come in groups, one
module each (:data:`zoo.export.saved_model.GROUPS`):

- :mod:`zoo.export.signatures`, the tensor level:

  - ``serve``: the forward pass; inputs named like the model's inputs
    (``tokens`` / ``features`` / ``condition`` / ``source`` / ``target_in``),
    variable batch size and sequence length; output ``output_0``
    (``ExportArchive`` also aliases it as ``serving_default``).
  - ``generate`` (``one_to_many``): ``condition``, ``max_length`` (int32),
    ``temperature`` (float32, <= 0 greedy), ``top_k`` (int32, 0 = all),
    ``seed`` (int32) -> ``tokens`` (batch, max_length) int32, ``scores`` (batch,).
  - ``translate`` (``encoder_decoder``): ``source`` and the same sampling
    inputs -> ``tokens``, ``scores``;
  - ``beam_search`` (``encoder_decoder``): ``source``, ``max_length``,
    ``alpha`` (length normalisation) with the beam width fixed at export time.

  Token and condition ids outside their tables fail inside the graph with an
  ``InvalidArgumentError`` naming the signature, the input, the id and the range.
- :mod:`zoo.export.predict`, the raw level of classifiers, regression models and
  taggers: ``predict`` takes raw strings or features in their original units and
  returns ``label`` / ``class_id`` / ``probabilities``, ``value`` (original units)
  or ``labels`` / ``class_ids`` / ``probabilities`` per token. The preprocessing
  (:mod:`zoo.export.preprocess`) is inside the SavedModel, its vocabularies in
  ``assets/``.
- :mod:`zoo.export.generation`, the raw level of generators and encoder-decoders:
  ``predict`` (a condition by name or id, or raw source text, and the sampling
  options), ``predict_beam`` (encoder-decoders) and ``predict_defaults`` (each
  option's default) -> ``text``, ``tokens``, ``token_ids``, ``scores``.
- :mod:`zoo.export.streaming`: ``initial_state`` (batch size -> zero states) and
  ``step`` (a chunk of timesteps and the states -> outputs and new states) for
  every causal recurrent model (:mod:`zoo.models.streaming`).

Raw-level bad input fails with an ``InvalidArgumentError`` carrying
``"predict: input '<name>' ..."`` (:func:`zoo.export.interface.error_message`
recovers the line). ``docs/serving.md`` shows each kind's TF Serving bodies.

The export is written to a hidden temporary sibling folder and renamed onto
`path` only after it has been verified, so an interrupted export leaves
nothing at `path`; the next export into the same parent folder removes what
a killed one left there (:func:`remove_leftovers`). ``zoo_export.json``
inside the folder records the model's registry name and factory arguments,
library versions, signatures, the verification results and the metrics and
recipe given in `metadata`.

Verification (:mod:`zoo.export.verify`) loads the export in a fresh Python
process with ``tf.saved_model.load`` only (no zoo, no Keras model code, GPUs
hidden) and compares every signature with the in-process model at two batch
sizes and two sequence lengths (float outputs within a tolerance of their
dtype relative to their scale; integer and string outputs exactly; every
output in the dtype the export serves).

``export_litert(model, path)`` (:mod:`zoo.export.litert`) writes ``model.tflite``
with the ``serve`` signature (and ``step`` / ``initial_state`` for streaming
models), built-in ops wherever possible, verified with the LiteRT interpreter
in a fresh process (docs/litert.md).

TensorFlow backend only; the SavedModel itself loads anywhere TensorFlow runs,
CPU-only included.
"""

from zoo.export.leftovers import LEFTOVER_MAX_AGE, remove_leftovers
from zoo.export.litert import (
    LITERT_FILE,
    LITERT_TOLERANCE,
    export_litert,
    read_litert_info,
    verify_litert,
)
from zoo.export.saved_model import (
    EXPORT_FORMAT,
    build_archive,
    export_saved_model,
    read_export_info,
)
from zoo.export import signatures
from zoo.export.verify import (
    BATCH_SIZES,
    SEQUENCE_LENGTHS,
    TOLERANCE,
    reference_cases,
    verify_saved_model,
)

__all__ = [
    "BATCH_SIZES", "EXPORT_FORMAT", "LEFTOVER_MAX_AGE", "LITERT_FILE", "LITERT_TOLERANCE",
    "SEQUENCE_LENGTHS", "TOLERANCE", "build_archive", "export_litert", "export_saved_model",
    "read_export_info", "read_litert_info", "reference_cases", "remove_leftovers", "signatures",
    "verify_litert", "verify_saved_model",
]
