"""The raw-level signatures of the generative models: ``predict``, ``predict_beam``
and ``predict_defaults``.

A signature group (see :mod:`zoo.export.signatures`) for the models with a
recurrent decoder, added to an export whose artifacts hold the output
vocabulary (``artifacts["vocabulary"]["output"]``, a
``zoo.data.text.Tokenizer.get_config()``) and, for encoder-decoders, the source
vocabulary (``["input"]``):

- generators (``one_to_many``):
  ``predict(condition, primer, max_length, temperature, top_k, seed,
  include_primer)``; ``condition`` is tf.string (batch,): a condition name
  (``artifacts["vocabulary"]["condition_classes"]``, e.g. ``"D major"``; without
  them the ids are the names) or its decimal id (``"3"``); a model conditioned on
  vectors takes them as float32 (batch, input_dim) instead. ``primer`` tf.string
  (batch,) is a sequence to continue, tokens of the output vocabulary as the
  tokenizer splits them (``"67 67 69 71"``: MIDI pitches of a melody), ``""`` for
  none: it is read before generation starts, and ``max_length`` tokens follow it
  (``zoo.decoding.sample_loop``); a token outside the vocabulary fails.
  ``include_primer`` (tf.bool scalar) puts the primer before its continuation in
  ``text``/``tokens``/``token_ids`` (then (batch, P + max_length), P the
  longest primer's length in tokens; a shorter row is 0-padded at its end);
  ``scores`` count the generated tokens alone;
- encoder-decoders (``encoder_decoder``):
  ``predict(source, max_length, temperature, top_k, seed)`` on raw text
  tf.string (batch,), tokenized inside the graph as in training, and
  ``predict_beam(source, max_length, alpha)`` (beam width fixed at export);
- both: ``predict_defaults()`` (no inputs): one scalar per option input above,
  its default (:func:`option_defaults`; ``primer`` ``""``, ``include_primer``
  False).

``predict`` and ``predict_beam`` return ``text`` tf.string (batch,) (the decoded
sequence, tokens joined as ``Tokenizer.decode`` joins them: "" at char level, " "
otherwise), ``tokens`` tf.string (batch, max_length) (the token of each step, ""
at and after the end token and at padding / start), ``token_ids`` int32 (batch,
max_length) (what the tensor-level ``generate`` / ``translate`` / ``beam_search``
return for the same ids and options) and ``scores`` float32 (batch,) (the sum of
the model's log-probabilities of the returned tokens).

The vocabularies are asset files of the SavedModel (``assets/``): the id ->
token table of the output is a ``tf.lookup.StaticHashTable`` initialised from a
text file, which the SavedModel copies into its assets. A bare model (no
vocabulary artifact) keeps the tensor-level signatures only.

Bad input fails inside the signature with ``tf.errors.InvalidArgumentError``
whose message carries ``"predict: input '<name>' ..."``: what was received and
what was expected (an empty source string, an unknown condition name with the
known ones listed, a condition id out of range, ``max_length < 1``,
``top_k < 0``); ``zoo.export.interface.error_message`` recovers the message. A
vocabulary artifact that does not fit the model (its size against the decoder's
``vocab_size``, the condition names against ``num_conditions``) is refused at
export with a ValueError.

Example:
    >>> loaded = tf.saved_model.load("saved_models/dates/1")
    >>> out = loaded.signatures["predict"](
    ...     source=tf.constant(["Mardi 14 juillet 1789"]), max_length=tf.constant(11),
    ...     temperature=tf.constant(0.0), top_k=tf.constant(0), seed=tf.constant(0))
    >>> out["text"]       # (1,) tf.string: [b"1789-07-14"]
    >>> out["token_ids"]  # (1, 11) int32, 0 after the end token
"""

import numpy as np
import tensorflow

from zoo.export._context import run_endpoint, tf
from zoo.export.signatures import SAMPLING_INPUTS, generative_kind, scalar_specs

BEAM_INPUTS = ("max_length", "alpha")
# Defaults of the option inputs (max_length: the model's own, see option_defaults).
DEFAULT_ALPHA = 0.6


def option_defaults(model, kind):
    """name -> default of each option input of ``predict`` (and ``predict_beam``).

    ``max_length`` is the decoder's own maximum length. ``temperature`` is 0.0
    (greedy: the single most likely output, what a translation or a date
    conversion wants) for encoder-decoders and 1.0 for generators, whose point is
    to sample new sequences: greedy decoding would give every request with the
    same condition the same sequence. ``top_k`` 0 (all tokens), ``seed`` 0,
    ``alpha`` 0.6 (GNMT length normalisation of the beam scores).
    """
    from zoo.decoding import find_decoder

    decoder, _ = find_decoder(model, "source" if kind == "translate" else "condition")
    defaults = {"max_length": np.int32(decoder.max_length),
                "temperature": np.float32(0.0 if kind == "translate" else 1.0),
                "top_k": np.int32(0), "seed": np.int32(0)}
    if kind == "translate":
        defaults["alpha"] = np.float32(DEFAULT_ALPHA)
    else:
        defaults["primer"] = np.array("", dtype=object)
        defaults["include_primer"] = np.bool_(False)
    return defaults


# --------------------------------------------------------------------------- checks
def _option_checks(max_length, top_k=None):
    from zoo.export.interface import check

    ops = [check(max_length >= 1, "input 'max_length' must be >= 1. Received: max_length=",
                 max_length)]
    if top_k is not None:
        ops.append(check(top_k >= 0, "input 'top_k' must be >= 0 (0 = all tokens). "
                                     "Received: top_k=", top_k))
    return ops


# --------------------------------------------------------------------------- text out
class TextDecoder(tensorflow.Module):
    """int32 token ids (batch, steps) -> ``text`` (batch,) and ``tokens`` (batch,
    steps) tf.string, as ``zoo.data.text.Tokenizer.decode`` reads them: stop at the
    end id, skip padding and start, out-of-range ids "[UNK]", tokens joined with ""
    at char level and " " otherwise.

    The id -> token table is ``zoo.export.preprocess.id_names`` (a
    ``tf.lookup.StaticHashTable`` from a text file, ``<stem>.txt``): tracked by an
    ``ExportArchive``, it becomes an asset of the SavedModel.

    Args:
        config: a ``Tokenizer.get_config()`` dict (``vocabulary`` by id, ``level``).
        stem: the vocabulary file's stem.

    Example:
        >>> decoder = TextDecoder(tokenizer.get_config())
        >>> out = decoder(tf.constant([[2, 5, 6, 3, 0]]))
        >>> out["text"]    # (1,) tf.string, Tokenizer.decode of the row
        >>> out["tokens"]  # (1, 5) tf.string, "" at padding / start, at and after the end
    """

    def __init__(self, config, *, stem="output_vocabulary"):
        from zoo.data import text
        from zoo.export.preprocess import id_names

        super().__init__(name=f"{stem}_decoder")
        vocabulary = [str(t) for t in config["vocabulary"]]
        if vocabulary[:len(text.SPECIAL_TOKENS)] != list(text.SPECIAL_TOKENS):
            raise ValueError(
                f"the vocabulary must start with {list(text.SPECIAL_TOKENS)}. "
                f"Received: {vocabulary[:len(text.SPECIAL_TOKENS)]}")
        self.separator = "" if config.get("level") == "char" else " "
        self.names = id_names(vocabulary, default=text.OOV, stem=stem)

    def __call__(self, ids):
        from zoo.data import text

        tf_ = tf()
        ids = tf_.cast(ids, tf_.int32)
        ended = tf_.cumsum(tf_.cast(ids == text.END_ID, tf_.int32), axis=1) > 0
        keep = tf_.logical_not(ended) & (ids != text.PAD_ID) & (ids != text.START_ID)
        tokens = tf_.where(keep, self.names(ids), tf_.constant(""))
        joined = tf_.strings.reduce_join(tf_.ragged.boolean_mask(tokens, keep), axis=1,
                                         separator=self.separator)
        return {"text": joined, "tokens": tokens}


# --------------------------------------------------------------------------- the group
def _vocabulary(context):
    vocabulary = (context.artifacts or {}).get("vocabulary")
    return vocabulary if isinstance(vocabulary, dict) else {}


def _outputs(text_decoder, token_ids, scores):
    return {**text_decoder(token_ids), "token_ids": token_ids, "scores": scores}


def add(archive, model, context):
    from zoo.decoding import find_decoder

    kind = generative_kind(model)
    vocabulary = _vocabulary(context)
    if kind is None or not isinstance(vocabulary.get("output"), dict):
        return {}
    tf_ = tf()
    source_name = "source" if kind == "translate" else "condition"
    if kind == "translate" and not isinstance(vocabulary.get("input"), dict):
        return {}
    decoder, prefix = find_decoder(model, source_name)
    _check_size("output", len(vocabulary["output"].get("vocabulary", ())), decoder.vocab_size,
                "the decoder's vocab_size")
    text_decoder = TextDecoder(vocabulary["output"])
    archive.track(text_decoder)
    reader, reader_spec = _input_reader(archive, model, kind, vocabulary)
    scalar = scalar_specs()
    endpoints = {}

    def predict(raw, max_length, temperature, top_k, seed):
        with tf_.control_dependencies(_option_checks(max_length, top_k)):
            ids = reader(raw)
        token_ids, scores = decoder.generate(prefix(ids), max_length=max_length,
                                             temperature=temperature, top_k=top_k, seed=seed)
        return _outputs(text_decoder, token_ids, scores)

    sampling = [scalar[k] for k in SAMPLING_INPUTS]
    if kind == "translate":
        endpoints["predict"] = archive.add_endpoint("predict", predict, [reader_spec] + sampling)
    else:
        primed = _primed_predict(archive, vocabulary, decoder, prefix, reader, text_decoder)
        endpoints["predict"] = archive.add_endpoint(
            "predict", primed, [reader_spec, tf_.TensorSpec((None,), tf_.string, name="primer")]
            + sampling + [tf_.TensorSpec((), tf_.bool, name="include_primer")])
    if kind == "translate":
        beam_width = context.beam_width

        def predict_beam(raw, max_length, alpha):
            with tf_.control_dependencies(_option_checks(max_length)):
                ids = reader(raw)
            token_ids, scores = decoder.beam_search(prefix(ids), beam_width=beam_width,
                                                    alpha=alpha, max_length=max_length)
            return _outputs(text_decoder, token_ids, scores)

        endpoints["predict_beam"] = archive.add_endpoint(
            "predict_beam", predict_beam, [reader_spec] + [scalar[k] for k in BEAM_INPUTS])
    defaults = option_defaults(model, kind)

    def predict_defaults():
        return {k: tf_.constant(v) for k, v in defaults.items()}

    endpoints["predict_defaults"] = archive.add_endpoint("predict_defaults", predict_defaults,
                                                         [])
    return endpoints


def _primed_predict(archive, vocabulary, decoder, prefix, reader, text_decoder):
    """``predict`` of a generator: the condition, and a primer to continue (tokens of
    the output vocabulary as text, "" for none), read before generation starts."""
    from zoo.export import preprocess
    from zoo.export.interface import checked

    tf_ = tf()
    encoder = preprocess.text_encoder(vocabulary["output"], input_name="primer",
                                      allow_empty=True, known_only=True)
    archive.track(encoder)

    def predict(raw, primer, max_length, temperature, top_k, seed, include_primer):
        with tf_.control_dependencies(_option_checks(max_length, top_k)):
            ids = reader(raw)
        given = encoder(primer)
        rows, batch = tf_.shape(given)[0], tf_.shape(ids)[0]
        given = checked(given, tf_.equal(rows, batch), "input 'primer' holds ", rows,
                        " row(s) for ", batch, " condition(s); expected one per condition "
                        "(\"\" for none)")
        # One column of padding: a batch of empty primers is a (batch, 0) tensor.
        given = tf_.concat([given, tf_.zeros(tf_.stack([rows, 1]), tf_.int32)], axis=1)
        token_ids, scores = decoder.generate(prefix(ids), max_length=max_length,
                                             temperature=temperature, top_k=top_k, seed=seed,
                                             primer=given, include_primer=include_primer)
        # The padding column is never part of a row: drop it (P + max_length wide).
        primed = tf_.shape(given)[1] - 1 + max_length
        token_ids = tf_.cond(include_primer, lambda: token_ids[:, :primed],
                             lambda: token_ids[:, :max_length])
        return _outputs(text_decoder, token_ids, scores)

    return predict


def _input_reader(archive, model, kind, vocabulary):
    """(raw input -> model ids, the raw input's TensorSpec) of ``predict``."""
    from zoo.export import preprocess

    tf_ = tf()
    if kind == "translate":
        encoder = preprocess.text_encoder(vocabulary["input"], input_name="source")
        archive.track(encoder)
        return encoder, tf_.TensorSpec((None,), tf_.string, name="source")
    condition = model.inputs[[t.name for t in model.inputs].index("condition")]
    if "int" not in str(condition.dtype):
        # Conditioned on vectors: they are the raw input.
        shape = (None,) + tuple(condition.shape[1:])
        return (lambda x: x), tf_.TensorSpec(shape, condition.dtype, name="condition")
    names = vocabulary.get("condition_classes")
    if not names:
        names = [str(i) for i in range(_num_conditions(model))]
    _check_size("condition_classes", len(names), _num_conditions(model),
                "the model's num_conditions")
    lookup = preprocess.name_lookup([str(n) for n in names], input_name="condition")
    archive.track(lookup)
    return lookup, tf_.TensorSpec((None,), tf_.string, name="condition")


def _check_size(entry, size, expected, what):
    if size != expected:
        raise ValueError(
            f"the vocabulary artifact's {entry!r} does not fit the model: it holds {size} "
            f"entries, expected {expected} ({what})")


def _num_conditions(model):
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding) and "condition" in layer.name:
            return int(layer.input_dim)
    raise ValueError(f"model {model.name!r}: no condition embedding found")


# --------------------------------------------------------------------------- cases
def example_texts(config, batch, rng):
    """`batch` raw strings of 1-6 learned tokens of a tokenizer `config`, joined so
    that the tokenizer splits them back (none empty)."""
    tokens = [t for t in config["vocabulary"][4:] if t.strip()]
    sep = "" if config.get("level") == "char" else " "
    if not tokens:
        return np.array(["x"] * batch, dtype=object)
    rows = []
    for _ in range(batch):
        n = int(rng.integers(1, 7))
        rows.append(sep.join(str(tokens[i]) for i in rng.integers(0, len(tokens), size=n)))
    return np.array(rows, dtype=object)  # object: recorded as a string input


def example_conditions(names, batch, rng):
    """`batch` condition strings: names and decimal ids, alternating."""
    ids = rng.integers(0, len(names), size=batch)
    return np.array([names[i] if j % 2 == 0 else str(i) for j, i in enumerate(ids)],
                    dtype=object)


def cases(model, endpoints, context, book, rng):
    kind = generative_kind(model)
    if "predict" not in endpoints or kind is None:  # another group's predict
        return
    vocabulary = _vocabulary(context)
    defaults = {k: v for k, v in option_defaults(model, kind).items()}
    book.add("predict_defaults", {}, {k: np.asarray(v) for k, v in defaults.items()}, {})
    spec = endpoints["predict"].get_concrete_function().structured_input_signature[0][0]
    for batch in context.batch_sizes:
        if kind == "translate":
            raw = example_texts(vocabulary["input"], batch, rng)
        elif spec.dtype == tf().string:
            names = vocabulary.get("condition_classes") or [
                str(i) for i in range(_num_conditions(model))]
            raw = example_conditions([str(n) for n in names], batch, rng)
        else:
            raw = rng.normal(size=(batch,) + tuple(spec.shape[1:])).astype("float32")
        primers = None
        if kind != "translate":
            # Some rows continue a primer, the others ("") start from nothing.
            texts = example_texts(vocabulary["output"], batch, rng)
            primers = np.array([t if i % 2 == 0 else "" for i, t in enumerate(texts)],
                               dtype=object)
        for length in context.sequence_lengths:
            for temperature, top_k in ((0.0, 0), (1.0, 3)):
                inputs = {"raw": raw}
                if primers is not None:
                    inputs["primer"] = primers
                inputs.update({"max_length": np.int32(length),
                               "temperature": np.float32(temperature), "top_k": np.int32(top_k),
                               "seed": np.int32(batch * 11 + length)})
                if primers is not None:
                    inputs["include_primer"] = np.bool_(temperature > 0)
                out = run_endpoint(endpoints["predict"], inputs)
                book.add("predict", _named(inputs, spec.name), out,
                         {"batch": batch, "max_length": length, "temperature": temperature,
                          "top_k": top_k})
            if kind == "translate":
                inputs = {"raw": raw, "max_length": np.int32(length),
                          "alpha": np.float32(DEFAULT_ALPHA)}
                out = run_endpoint(endpoints["predict_beam"], inputs)
                book.add("predict_beam", _named(inputs, spec.name), out,
                         {"batch": batch, "max_length": length,
                          "beam_width": context.beam_width})


def _named(inputs, name):
    """`inputs` with the raw input under its signature name (order kept)."""
    return {(name if k == "raw" else k): v for k, v in inputs.items()}
