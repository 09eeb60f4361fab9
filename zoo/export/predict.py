"""The raw-level ``predict`` signature of the non-generative models (a signature group,
see :mod:`zoo.export.signatures`): what a user has in, what a user wants out.

Which kind a model is comes from its head (``zoo.models.blocks.output_head``:
``*_logits`` classify, ``*_values`` regress) and its output rank (one answer per
sequence, or one per step); the run's artifacts say what the raw inputs and outputs
mean (``docs/recipes.md``, "What the export serves"):

- ``artifacts["vocabulary"]["input"]`` (a ``Tokenizer.get_config()``): the ``tokens``
  input is raw text; without it (a bare model) ``tokens`` is a string of
  space-separated decimal token ids (``"5 17 3"``), each in [1, vocab_size).
- ``artifacts["normalizer"]`` (``{"mean", "variance"}``): ``features`` are in the
  data's original units and standardised inside; steps whose raw features all equal
  the model's ``mask_value`` stay padding. ``artifacts["serving"]
  ["denormalize_output"]`` (default False) maps regression outputs back to those
  units with the same statistics (sunspots: counts in, counts out);
  ``artifacts["serving"]["normalize_input"]`` (default True) can turn the input side off.
- the class names: ``artifacts["vocabulary"]["classes"]``, else the output
  tokenizer's vocabulary (``["output"]``), else the decimal class id (``"0"``, ``"1"``...).

Signature ``predict``:

- inputs: ``tokens`` tf.string (batch,), or ``features`` float32 (batch, steps, F)
  ((batch, F) for ``one_to_one``);
- classifiers: ``label`` tf.string (batch,), ``class_id`` int32 (batch,),
  ``probabilities`` float32 (batch, C);
- taggers (per-step logits): ``labels`` tf.string (batch, steps), ``class_ids`` int32
  (batch, steps), ``probabilities`` float32 (batch, steps, C); on padding steps the
  label is "" and the class id 0;
- regression: ``value`` float32, the model output's shape.

Bad input fails with ``InvalidArgumentError`` "predict: ..." (:mod:`zoo.export.interface`).
Models with a recurrent decoder get their ``predict`` from the generation group.
"""

import keras
import numpy as np
import tensorflow as tf

from zoo.data.text import from_artifact
from zoo.export import preprocess
from zoo.export import _context
from zoo.export.signatures import generative_kind


class Plan:
    """What ``predict`` does for one model: its input, head and their meaning.

    Attributes:
        input_name: "tokens" or "features"; kind: "classifier", "tagger" or "regression".
        tokenizer: the input ``Tokenizer`` (None: ids as decimal text, or features).
        normalizer: the ``{"mean", "variance"}`` artifact applied to raw features, or None.
        output_normalizer: the artifact mapping regression outputs back, or None.
        class_names: the names by class id (classifiers and taggers).
        mask_value: the model's feature padding value (None: no masking).
    """

    def __init__(self, model, artifacts):
        spec = {t.name: t for t in model.inputs}
        self.input_name = next(iter(spec))
        self.input = spec[self.input_name]
        head = model.layers[-1]
        per_step = len(model.outputs[0].shape) == 3
        logits = head.name.endswith("_logits")
        self.kind = ("tagger" if per_step else "classifier") if logits else "regression"
        vocabulary = artifacts.get("vocabulary") or {}
        serving = artifacts.get("serving") or {}
        self.tokenizer = from_artifact(vocabulary, "input") if self.input_name == "tokens" \
            else None
        self.vocab_size = _vocab_size(model)
        if self.tokenizer is not None and self.tokenizer.size > self.vocab_size:
            raise ValueError(
                f"the input vocabulary has {self.tokenizer.size} tokens but the model embeds "
                f"{self.vocab_size}: the artifacts do not belong to this model")
        norm = artifacts.get("normalizer")
        self.normalizer = norm if (norm and self.input_name == "features"
                                   and serving.get("normalize_input", True)) else None
        self.output_normalizer = norm if (norm and self.kind == "regression"
                                          and serving.get("denormalize_output", False)) else None
        self.num_classes = int(model.outputs[0].shape[-1])
        self.class_names = _class_names(vocabulary, self.num_classes) if logits else None
        masking = [layer for layer in model.layers if isinstance(layer, keras.layers.Masking)]
        self.mask_value = float(masking[0].mask_value) if masking else None


def _vocab_size(model):
    sizes = [layer.input_dim for layer in model.layers
             if isinstance(layer, keras.layers.Embedding)]
    return min(sizes) if sizes else None


def _class_names(vocabulary, num_classes):
    names = vocabulary.get("classes")
    if names is None and vocabulary.get("output") is not None:
        names = from_artifact(vocabulary, "output").get_vocabulary()
    names = [str(n) for n in names] if names is not None else []
    if len(names) > num_classes:
        raise ValueError(f"{len(names)} class names for a model of {num_classes} classes. "
                         f"Received: {names[:20]!r}")
    # Classes without a name (a bare model) are named by their decimal id.
    return names + [str(i) for i in range(len(names), num_classes)]


def applies(model):
    """Whether this group serves `model` (a single token or feature input, no decoder)."""
    names = [t.name for t in model.inputs]
    return (generative_kind(model) is None and len(names) == 1
            and names[0] in ("tokens", "features"))


class Predictor(tf.Module):
    """The ``predict`` function of a :class:`Plan`: raw input -> named outputs."""

    def __init__(self, model, plan):
        super().__init__(name="predictor")
        self.model, self.plan = model, plan
        if plan.input_name == "tokens":
            self.encode = (preprocess.text_encoder(plan.tokenizer.get_config(),
                                                   input_name="tokens")
                           if plan.tokenizer is not None
                           else preprocess.id_text_encoder(plan.vocab_size or 2,
                                                           input_name="tokens"))
        else:
            self.num_features = int(plan.input.shape[-1])
            self.normalize = (preprocess.feature_normalizer(
                plan.normalizer, input_name="features", num_features=self.num_features)
                if plan.normalizer is not None else None)
        self.denormalize = (preprocess.feature_denormalizer(
            plan.output_normalizer, input_name="value",
            num_features=int(model.outputs[0].shape[-1]))
            if plan.output_normalizer else None)
        if plan.class_names is not None:
            self.names = preprocess.id_names(plan.class_names, stem="classes")

    def input_spec(self):
        if self.plan.input_name == "tokens":
            return tf.TensorSpec((None,), tf.string, name="tokens")
        rank = len(self.plan.input.shape)
        return tf.TensorSpec((None,) * rank, tf.float32, name="features")

    def model_input(self, raw):
        """(model input, padding (batch, steps) bool or None)."""
        if self.plan.input_name == "tokens":
            ids = self.encode(raw)
            return ids, tf.equal(ids, 0)
        raw = preprocess.check_features(raw, input_name="features",
                                        num_features=self.num_features)
        raw = tf.ensure_shape(raw, (None,) * (len(self.plan.input.shape) - 1)
                              + (self.num_features,))
        x = self.normalize(raw) if self.normalize is not None else raw
        pad = None
        if self.plan.mask_value is not None:
            pad = tf.reduce_all(tf.equal(raw, self.plan.mask_value), axis=-1)
            x = tf.where(pad[..., None], tf.constant(self.plan.mask_value, x.dtype), x)
        return tf.cast(x, self.plan.input.dtype), pad

    def __call__(self, raw):
        x, pad = self.model_input(raw)
        y = tf.cast(self.model({self.plan.input_name: x}, training=False), tf.float32)
        if self.plan.kind == "regression":
            return {"value": self.denormalize(y) if self.denormalize is not None else y}
        probabilities = tf.nn.softmax(y, axis=-1)
        ids = tf.argmax(y, axis=-1, output_type=tf.int32)
        if self.plan.kind == "classifier":
            return {"label": self.names(ids), "class_id": ids, "probabilities": probabilities}
        if pad is not None:
            ids = tf.where(pad, 0, ids)
        labels = self.names(ids)
        if pad is not None:
            labels = tf.where(pad, "", labels)
        return {"labels": labels, "class_ids": ids, "probabilities": probabilities}


def add(archive, model, context):
    _context.tf()  # the TensorFlow backend
    if not applies(model):
        return {}
    plan = Plan(model, context.artifacts)
    predictor = Predictor(model, plan)
    archive.track(predictor)

    def model_input(raw):
        return {plan.input_name: predictor.model_input(raw)[0]}

    spec = predictor.input_spec()
    return {"predict": archive.add_endpoint("predict", predictor, [spec]),
            # The raw input as `serve` and `step` take it (ids, standardised features):
            # what a streaming client feeds `step`, chunk by chunk.
            "preprocess": archive.add_endpoint("preprocess", model_input, [spec])}


# --- verification cases: raw inputs, reference outputs by the independent path --------

def raw_texts(tokenizer, batch, steps, rng):
    """`batch` raw strings of `steps`, `steps` - 1, ... (at least 1) learned tokens."""
    learned = tokenizer.tokens or ["[UNK]"]
    printable = [t for t in learned if t.strip()] or ["x"]
    sep = "" if tokenizer.level == "char" else " "
    texts = []
    for i in range(batch):
        n = max(1, steps - i)
        words = [printable[rng.integers(len(printable))]]
        words += [learned[j] for j in rng.integers(len(learned), size=n - 1)]
        texts.append(sep.join(words))
    return texts


def raw_features(plan, batch, steps, rng):
    """Raw features (in the data's units when a normaliser is known) at (batch, steps, F),
    rows after the first padded at the end with the mask value when the model masks."""
    shape = [batch] + [steps if d is None else d for d in plan.input.shape[1:]]
    x = rng.normal(size=shape).astype(np.float32)
    if plan.normalizer is not None:
        mean = np.asarray(plan.normalizer["mean"], np.float32)
        std = np.sqrt(np.asarray(plan.normalizer["variance"], np.float32))
        x = x * std + mean
    if plan.mask_value is not None and x.ndim == 3:
        for i in range(1, batch):
            x[i, max(1, steps - i):] = plan.mask_value
    return x


def reference(model, plan, raw):
    """The ``predict`` outputs of `raw` computed outside the export: ids by
    ``Tokenizer.encode_batch``, features by ``normalization_from_config`` (in float32),
    softmax and names in NumPy."""
    if plan.input_name == "tokens":
        if plan.tokenizer is not None:
            x = plan.tokenizer.encode_batch(list(raw))
        else:
            rows = [[int(w) for w in t.split()] for t in raw]
            x = np.zeros((len(rows), max(map(len, rows))), np.int32)
            for i, r in enumerate(rows):
                x[i, :len(r)] = r
        pad = x == 0
    else:
        raw = np.asarray(raw, np.float32)
        x = raw
        if plan.normalizer is not None:
            x = np.asarray(preprocess.float32_normalization(plan.normalizer)(raw))
        pad = None
        if plan.mask_value is not None:
            pad = np.all(raw == plan.mask_value, axis=-1)
            x = np.where(pad[..., None], plan.mask_value, x).astype(np.float32)
    y = keras.ops.convert_to_numpy(model({plan.input_name: x}, training=False)).astype(np.float32)
    if plan.kind == "regression":
        if plan.output_normalizer is not None:
            y = np.asarray(preprocess.float32_normalization(
                plan.output_normalizer, invert=True)(y))
        return {"value": y.astype(np.float32)}
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    probabilities = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    ids = y.argmax(axis=-1).astype(np.int32)
    names = np.array(plan.class_names, dtype=object)
    if plan.kind == "classifier":
        return {"label": names[ids], "class_id": ids, "probabilities": probabilities}
    if pad is not None:
        ids = np.where(pad, 0, ids).astype(np.int32)
    labels = names[ids]
    if pad is not None:
        labels = np.where(pad, "", labels)
    return {"labels": labels.astype(object), "class_ids": ids, "probabilities": probabilities}


def example_raw(plan, batch, steps, rng):
    """Raw ``predict`` inputs for verification: text, decimal ids or raw features."""
    if plan.input_name == "features":
        return raw_features(plan, batch, steps, rng)
    if plan.tokenizer is not None:
        return np.array(raw_texts(plan.tokenizer, batch, steps, rng), dtype=object)
    high = max(2, plan.vocab_size or 2)
    return np.array([" ".join(str(i) for i in rng.integers(1, high, size=max(1, steps - r)))
                     for r in range(batch)], dtype=object)


def cases(model, endpoints, context, book, rng):
    if "predict" not in endpoints or not applies(model):  # another group's predict
        return
    plan = Plan(model, context.artifacts)
    has_time = len(plan.input.shape) > 2 or plan.input_name == "tokens"
    lengths = context.sequence_lengths if has_time else context.sequence_lengths[:1]
    for batch in context.batch_sizes:
        for steps in lengths:
            raw = example_raw(plan, batch, steps, rng)
            book.add("predict", {plan.input_name: raw}, reference(model, plan, raw),
                     {"batch": batch, "steps": steps})
            book.add("preprocess", {plan.input_name: raw},
                     _context.run_endpoint(endpoints["preprocess"], {plan.input_name: raw}),
                     {"batch": batch, "steps": steps})
