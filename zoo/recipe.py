"""The recipe contract (work in progress: the config, overrides and ``run`` move here next).

:class:`Data` is the one holder of what a recipe trains on; ``zoo.data.standard``
returns it too. This module imports only the standard library, so that the
``zoo`` command can read recipes without loading TensorFlow or Keras.
"""

import dataclasses
import typing


@dataclasses.dataclass
class Data:
    """The datasets and data-derived facts a recipe trains on.

    Attributes:
        train, validation, test: batched ``tf.data.Dataset`` of
            ``(inputs, targets)``, inputs a dict keyed by the model's input
            names; ``validation`` or ``test`` may be None.
        model_kwargs: ``zoo.create_model`` arguments that come from the data
            (``vocab_size``, ``num_classes``, ``input_dim``...).
        artifacts: name -> JSON-serialisable object (vocabularies,
            normalisation statistics) that training writes to the run folder
            as ``<name>.json`` and the export records; passed explicitly,
            never found again by scanning a folder.
        extras: anything else the recipe's ``evaluate``/``report`` needs
            (raw test examples, label names); not saved.
    """

    train: typing.Any
    validation: typing.Any = None
    test: typing.Any = None
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    artifacts: dict = dataclasses.field(default_factory=dict)
    extras: dict = dataclasses.field(default_factory=dict)
