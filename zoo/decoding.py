"""In-graph decoding: greedy, temperature and top-k sampling, and beam search.

The loops are ``keras.ops.while_loop`` so that they run inside a traced graph
(``tf.function``, a SavedModel signature, ``jax.jit``) on either backend. They
drive a *step function* ``step_fn(tokens, carry, context) -> (logits, carry)``:
``tokens`` is ``(n,)`` int32 (the previous token of each row), ``carry`` a tuple
of ``(n, ...)`` tensors (the recurrent states), ``context`` a tuple of ``(n, ...)``
tensors that do not change (encoder outputs), ``logits`` is ``(n, vocab)``.

Public, plain-Python entry points for the zoo's generative models:

- ``generate(model, condition, ...)`` for ``one_to_many`` models;
- ``translate(model, source, ...)`` for ``encoder_decoder`` models.

Both return ``(tokens, scores)``: ``tokens`` ``(batch, max_length)`` int32,
each row the generated ids up to and including `end_token`, then 0 (padding);
``scores`` ``(batch,)`` the sum of the model's log-probabilities of the
returned tokens (before temperature / top-k).

Sampling is reproducible: the noise is a counter-based hash of
``(seed, step, row, token id)`` computed with ``keras.ops`` integer arithmetic,
so a given seed gives the same tokens on every backend and inside an exported
SavedModel, where the seed is an input tensor.
"""

import keras
import numpy as np
from keras import ops

from zoo._checks import check_int

_NEG = -1e9
NEG_INF = _NEG  # the "impossible" logit / log-probability


# --------------------------------------------------------------------------- sampling
def _hash32(x):
    """A 32-bit integer mixing function (bijective on uint32)."""
    x = ops.cast(x, "uint32")
    for shift, mult in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        x = ops.bitwise_xor(x, ops.right_shift(x, ops.cast(shift, "uint32")))
        x = ops.multiply(x, ops.cast(mult, "uint32"))
    return ops.bitwise_xor(x, ops.right_shift(x, ops.cast(16, "uint32")))


def uniform_noise(seed, step, shape):
    """Uniform floats in (0, 1) of `shape` (rows, vocab), determined by
    ``(seed, step, row, column)``; `seed` and `step` may be scalar tensors, and
    `step` a ``(rows,)`` vector (each row at its own step)."""
    rows, cols = shape
    step = ops.cast(step, "uint32")
    if len(step.shape) == 1:
        step = ops.expand_dims(step, 1)
    index = ops.expand_dims(ops.arange(rows, dtype="int32"), 1) * cols + ops.expand_dims(
        ops.arange(cols, dtype="int32"), 0
    )
    key = _hash32(ops.bitwise_xor(_hash32(seed), ops.cast(step, "uint32")))
    bits = _hash32(ops.bitwise_xor(ops.cast(index, "uint32"), key))
    top24 = ops.cast(ops.right_shift(bits, ops.cast(8, "uint32")), "float32")
    return (top24 + 0.5) / 16777216.0


def filter_top_k(logits, top_k):
    """Keep the `top_k` largest logits per row, the rest set to -1e9.
    ``top_k <= 0`` (or >= vocab) keeps everything; `top_k` may be a tensor."""
    vocab = ops.shape(logits)[-1]
    k = ops.cast(top_k, "int32")
    k = ops.where(ops.logical_or(k <= 0, k > vocab), vocab, k)
    descending = ops.flip(ops.sort(logits, axis=-1), axis=-1)
    kth = ops.take_along_axis(
        descending, ops.full((ops.shape(logits)[0], 1), k - 1, dtype="int32"), axis=-1
    )
    return ops.where(logits >= kth, logits, ops.full_like(logits, _NEG))


def choose_tokens(logits, *, temperature, top_k, seed, step):
    """Next tokens ``(n,)`` int32 from ``(n, vocab)`` logits (`step`: a scalar, or
    ``(n,)`` for rows at different steps).

    ``temperature <= 0`` is greedy (argmax); otherwise a sample from
    ``softmax(filter_top_k(logits, top_k) / temperature)`` by the Gumbel-max
    trick with the deterministic noise of ``uniform_noise(seed, step, ...)``.
    """
    logits = ops.cast(logits, "float32")
    greedy = ops.cast(ops.argmax(logits, axis=-1), "int32")
    temperature = ops.cast(temperature, "float32")
    scaled = filter_top_k(logits, top_k) / ops.maximum(temperature, 1e-6)
    u = uniform_noise(seed, step, (ops.shape(logits)[0], ops.shape(logits)[1]))
    sampled = ops.cast(ops.argmax(scaled - ops.log(-ops.log(u)), axis=-1), "int32")
    return ops.where(temperature > 0, sampled, greedy)


def _write(buffer, t, values, length):
    """buffer[..., t] = values, with dynamic t (one-hot arithmetic)."""
    onehot = ops.cast(ops.one_hot(t, length), buffer.dtype)
    return buffer * (1 - onehot) + ops.expand_dims(values, -1) * onehot


# --------------------------------------------------------------------------- loops
def sample_loop(
    step_fn,
    carry,
    context=(),
    *,
    batch_size,
    start_token,
    end_token,
    max_length,
    temperature=0.0,
    top_k=0,
    seed=0,
    primer=None,
    include_primer=False,
):
    """Greedy (``temperature <= 0``) or sampled decoding of `max_length` steps.

    Stops early once every row has produced `end_token` (None: never).
    Returns ``(tokens (batch, max_length) int32, scores (batch,) float32)``.

    With a `primer` (``(batch, P)`` int32 token ids, each row's primer first and
    0 after it; a row of zeros has none), each row is fed its primer before it
    generates: the primer's tokens are the row's first outputs, forced, not
    sampled, so the states the continuation starts from are those the model has
    after reading the primer (as in training, where the previous true token is the
    input). Then `max_length` tokens are generated after each row's primer; the
    ``scores`` count these alone. The returned ``tokens`` are the continuations
    ``(batch, max_length)``, or with ``include_primer=True`` the primers followed
    by their continuations ``(batch, P + max_length)`` (0 after each row's end).
    `include_primer` may be a scalar bool tensor (a SavedModel input): both answers
    are then ``(batch, P + max_length)``, the continuation padded with 0. The noise
    of a sampled token is drawn for its place in the continuation (step 0 is the
    first token after the primer), so a row without a primer samples as it would
    with no `primer` argument at all.
    """
    if primer is None:
        return _sample(step_fn, carry, context, batch_size=batch_size,
                       start_token=start_token, end_token=end_token, max_length=max_length,
                       temperature=temperature, top_k=top_k, seed=seed)
    primer = ops.cast(primer, "int32")
    lengths = ops.sum(ops.cast(ops.not_equal(primer, 0), "int32"), axis=1)
    total = ops.shape(primer)[1] + max_length
    out, scores = _sample(step_fn, carry, context, batch_size=batch_size,
                          start_token=start_token, end_token=end_token, max_length=total,
                          temperature=temperature, top_k=top_k, seed=seed,
                          primer=(primer, lengths, max_length))
    # The continuation of each row starts after its own primer.
    positions = ops.expand_dims(ops.arange(max_length, dtype="int32"), 0) + \
        ops.expand_dims(lengths, 1)
    continuation = ops.take_along_axis(out, ops.minimum(positions, total - 1), axis=1)
    continuation = ops.where(positions < total, continuation, 0)
    if isinstance(include_primer, (bool, np.bool_)):
        return (out if include_primer else continuation), scores
    # A tensor: both answers must have one shape, so the continuation is padded.
    padded = ops.concatenate([continuation, ops.zeros_like(primer)], axis=1)
    return ops.where(ops.cast(include_primer, "bool"), out, padded), scores


def _sample(step_fn, carry, context, *, batch_size, start_token, end_token, max_length,
            temperature, top_k, seed, primer=None):
    """The loop of :func:`sample_loop`; `primer` is (ids, lengths, continuation length)."""
    tokens = ops.full((batch_size,), start_token, dtype="int32")
    out = ops.zeros((batch_size, max_length), dtype="int32")
    finished = ops.zeros((batch_size,), dtype="bool")
    scores = ops.zeros((batch_size,), dtype="float32")
    end = -1 if end_token is None else end_token

    def cond(t, tokens, carry, out, finished, scores):
        return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

    def body(t, tokens, carry, out, finished, scores):
        logits, new_carry = step_fn(tokens, carry, context)
        logits = ops.cast(logits, "float32")
        if primer is None:
            nxt = choose_tokens(logits, temperature=temperature, top_k=top_k, seed=seed, step=t)
            forced = None
        else:
            ids, lengths, steps = primer
            forced = t < lengths
            # The noise of a generated token is that of its place in the continuation.
            step = ops.maximum(t - lengths, 0)
            sampled = choose_tokens(logits, temperature=temperature, top_k=top_k, seed=seed,
                                    step=step)
            given = ops.take(ids, ops.minimum(t, ops.shape(ids)[1] - 1), axis=1)
            nxt = ops.where(forced, given, sampled)
        nxt = ops.where(finished, 0, nxt)
        logp = ops.take_along_axis(
            ops.log_softmax(logits, axis=-1), ops.expand_dims(nxt, -1), axis=-1
        )[:, 0]
        counted = finished if forced is None else ops.logical_or(finished, forced)
        scores = scores + ops.where(counted, 0.0, logp)
        out = _write(out, t, nxt, max_length)
        ended = ops.equal(nxt, end)
        if forced is not None:
            ended = ops.logical_and(ended, ops.logical_not(forced))
            ended = ops.logical_or(ended, t + 1 >= lengths + steps)
        finished = ops.logical_or(finished, ended)
        return t + 1, nxt, tuple(new_carry), out, finished, scores

    init = (ops.convert_to_tensor(0, dtype="int32"), tokens, tuple(carry), out, finished, scores)
    _, _, _, out, _, scores = ops.while_loop(cond, body, init)
    return out, scores


def _tile(x, k):
    return ops.repeat(x, k, axis=0)  # row b*k + j is the j-th beam of example b


def length_penalty(length, alpha):
    """GNMT length normalisation ``((5 + length) / 6) ** alpha``."""
    return ops.power((5.0 + ops.cast(length, "float32")) / 6.0, alpha)


def beam_search(
    step_fn,
    carry,
    context=(),
    *,
    batch_size,
    beam_width,
    start_token,
    end_token,
    max_length,
    alpha=0.0,
):
    """Beam search with `beam_width` beams (a Python int) per example.

    Each step extends every live beam by every token and keeps the
    `beam_width` best candidates by ``log_prob / length_penalty(length, alpha)``
    (``alpha=0``: plain log-probability). A beam that emits `end_token` is
    finished and carried on unchanged. Stops at `max_length` steps or when all
    beams are finished; returns the best beam of each example as
    ``(tokens (batch, max_length), scores (batch,))`` where ``scores`` is its
    (un-normalised) log-probability. ``beam_width=1`` is greedy decoding.
    """
    k = int(beam_width)
    if k < 1:
        raise ValueError(f"`beam_width` must be >= 1. Received: beam_width={beam_width!r}")
    n = batch_size * k
    carry = tuple(_tile(c, k) for c in carry)
    context = tuple(_tile(c, k) for c in context)
    end = -1 if end_token is None else end_token
    first = ops.cast(ops.equal(ops.arange(k), 0), "float32")
    scores = ops.tile(ops.expand_dims((1.0 - first) * _NEG, 0), (batch_size, 1))  # (b, k)
    tokens = ops.full((n,), start_token, dtype="int32")
    seqs = ops.zeros((batch_size, k, max_length), dtype="int32")
    lengths = ops.zeros((batch_size, k), dtype="int32")
    finished = ops.zeros((batch_size, k), dtype="bool")
    offsets = ops.expand_dims(ops.arange(batch_size, dtype="int32") * k, 1)  # (b, 1)

    def cond(t, tokens, carry, seqs, scores, lengths, finished):
        return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

    def body(t, tokens, carry, seqs, scores, lengths, finished):
        logits, new_carry = step_fn(tokens, carry, context)
        logp = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
        vocab = ops.shape(logp)[-1]
        logp = ops.reshape(logp, (batch_size, k, vocab))
        # A finished beam may only emit padding (0), at no cost.
        pad_row = ops.where(ops.equal(ops.arange(vocab), 0), 0.0, _NEG)
        logp = ops.where(ops.expand_dims(finished, -1), pad_row, logp)
        new_len = lengths + ops.cast(ops.logical_not(finished), "int32")
        cand = ops.reshape(ops.expand_dims(scores, -1) + logp, (batch_size, k * vocab))
        norm = cand / ops.reshape(
            ops.repeat(ops.expand_dims(length_penalty(new_len, alpha), -1), vocab, axis=-1),
            (batch_size, k * vocab),
        )
        _, idx = ops.top_k(norm, k)  # (b, k)
        idx = ops.cast(idx, "int32")
        beam = idx // vocab
        token = idx % vocab
        scores = ops.take_along_axis(cand, idx, axis=-1)
        rows = ops.reshape(offsets + beam, (-1,))
        carry = tuple(ops.take(c, rows, axis=0) for c in new_carry)
        seqs = ops.reshape(ops.take(ops.reshape(seqs, (n, -1)), rows, axis=0), ops.shape(seqs))
        seqs = _write(seqs, t, token, max_length)
        lengths = ops.take_along_axis(new_len, beam, axis=-1)
        was_finished = ops.take_along_axis(finished, beam, axis=-1)
        finished = ops.logical_or(was_finished, ops.equal(token, end))
        return t + 1, ops.reshape(token, (-1,)), carry, seqs, scores, lengths, finished

    init = (ops.convert_to_tensor(0, dtype="int32"), tokens, carry, seqs, scores, lengths, finished)
    _, _, _, seqs, scores, lengths, _ = ops.while_loop(cond, body, init)
    best = ops.argmax(scores / length_penalty(ops.maximum(lengths, 1), alpha), axis=-1)
    best = ops.cast(best, "int32")
    tokens = ops.take(ops.reshape(seqs, (n, -1)), offsets[:, 0] + best, axis=0)
    return tokens, ops.take_along_axis(scores, ops.expand_dims(best, -1), axis=-1)[:, 0]


# --------------------------------------------------------------------------- public API
def is_decoder(layer):
    """Whether `layer` is a step decoder: a layer whose first input is
    ``target_in`` and that has ``generate(prefix_outputs, ...)`` and
    ``beam_search(prefix_outputs, ...)`` methods over its other inputs (as
    ``zoo.models.RecurrentDecoder``). Checked by behaviour, so this module
    needs no model code."""
    return all(callable(getattr(layer, method, None)) for method in ("generate", "beam_search"))


def find_decoder(model, input_name):
    """Return ``(decoder_layer, prefix_model)`` for a generative zoo model.

    ``prefix_model`` maps the model's `input_name` input (``"condition"`` or
    ``"source"``) to the decoder's inputs after ``target_in`` (initial states,
    and memory and source with attention); it shares the model's layers.
    """
    decoders = [layer for layer in model.layers if is_decoder(layer)]
    names = [t.name for t in model.inputs]
    if len(decoders) != 1 or input_name not in names:
        raise ValueError(
            f"Expected a generative zoo model with a RecurrentDecoder and an input "
            f"named {input_name!r}. Received: model {model.name!r} with inputs {names}"
        )
    decoder = decoders[0]
    cache = getattr(model, "_zoo_prefix_cache", None)
    if cache is None or cache[0] is not decoder:
        prefix = keras.Model(
            model.inputs[names.index(input_name)],
            list(decoder.input[1:]),
            name=f"{model.name}_prefix",
        )
        cache = (decoder, prefix)
        object.__setattr__(model, "_zoo_prefix_cache", cache)
    return cache


def _to_numpy(pair):
    return tuple(np.asarray(ops.convert_to_numpy(x)) for x in pair)


def generate(model, condition, *, max_length=None, temperature=0.0, top_k=0, seed=0,
             primer=None, include_primer=False):
    """Generate token sequences with a ``one_to_many`` model.

    Args:
        model: a model built by ``zoo.create_model("one_to_many", ...)`` (or
            loaded from its ``.keras`` file).
        condition: ``(batch, input_dim)`` float vectors, or ``(batch,)`` int
            condition ids when the model was built with ``num_conditions``.
        max_length: number of steps (default: the model's ``max_length``).
        temperature: ``<= 0`` greedy; ``> 0`` sampling with this temperature.
        top_k: sample only among the `top_k` most likely tokens (0: all).
        seed: int; the same seed gives the same samples.
        primer: a melody (or text) to continue: ``(batch, P)`` token ids, each
            row's primer first and 0 after it (a row of zeros: none), or one
            list of ids for every row. It is read, not sampled; `max_length`
            tokens follow it.
        include_primer: return the primer before its continuation.

    Returns:
        ``(tokens, scores)`` NumPy arrays: ``(batch, max_length)`` int32
        (0 after `end_token`; ``(batch, P + max_length)`` with
        `include_primer`) and ``(batch,)`` log-probabilities of the
        generated tokens.
    """
    check_int("max_length", max_length, allow_none=True)
    decoder, prefix = find_decoder(model, "condition")
    if primer is not None:
        shape = np.shape(condition)
        if not shape:
            raise ValueError("`condition` must be (batch,) ids or (batch, input_dim) vectors. "
                             f"Received: a scalar {condition!r}")
        primer = check_primer(primer, int(shape[0]), decoder.vocab_size)
    return _to_numpy(
        decoder.generate(
            prefix(condition),
            max_length=max_length,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            primer=primer,
            include_primer=bool(include_primer),
        )
    )


def check_primer(primer, batch, vocab_size):
    """`primer` as a ``(batch, P)`` int32 array (one row given is repeated), checked:
    P >= 1 columns, each row its ids in ``[1, vocab_size)`` then 0 padding (a row of
    zeros: no primer for that row). A ValueError says what was received."""
    array = np.asarray(primer)
    if array.ndim == 1 or (array.ndim == 2 and len(array) == 1):  # one row for all
        array = np.tile(array.reshape(1, -1), (batch, 1))
    if array.ndim != 2 or array.shape[1] == 0 or array.dtype.kind not in "iu":
        raise ValueError(f"`primer` must hold integer token ids, (P,) or (batch, P) with P "
                         f">= 1. Received: shape {array.shape}, dtype {array.dtype}")
    if array.shape[0] != batch:
        raise ValueError(f"`primer` has {array.shape[0]} rows for {batch} conditions; give "
                         "one row per condition, or one row for all.")
    if array.min() < 0 or array.max() >= vocab_size:
        raise ValueError(f"`primer` ids must lie in [1, {vocab_size}) (0 = padding after a "
                         f"row's primer). Received: ids in [{array.min()}, {array.max()}]")
    nonzero = array != 0
    if np.any(nonzero[:, 1:] & ~nonzero[:, :-1]):
        raise ValueError("`primer`: a row has an id after a 0; 0 may only pad the end of a "
                         "row's primer.")
    return array.astype(np.int32)


def translate(
    model,
    source,
    *,
    max_output_length=None,
    beam_width=1,
    alpha=0.0,
    temperature=0.0,
    top_k=0,
    seed=0,
):
    """Decode target sequences for `source` with an ``encoder_decoder`` model.

    Args:
        model: a model built by ``zoo.create_model("encoder_decoder", ...)``.
        source: ``(batch, source_steps)`` int token ids, 0 = padding.
        max_output_length: decoding steps (default: the model's).
        beam_width: ``> 1`` runs beam search (then temperature/top_k are not
            used); ``1`` greedy or sampling.
        alpha: beam-search length normalisation exponent (0: none).
        temperature, top_k, seed: as in ``generate``.

    Returns:
        ``(tokens, scores)`` as in ``generate``.
    """
    check_int("max_output_length", max_output_length, allow_none=True)
    decoder, prefix = find_decoder(model, "source")
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(
            f"`beam_width` must be an integer >= 1. Received: beam_width={beam_width!r}")
    encoded = prefix(np.asarray(source, dtype="int32"))
    if beam_width > 1:
        return _to_numpy(
            decoder.beam_search(
                encoded, beam_width=beam_width, alpha=alpha, max_length=max_output_length
            )
        )
    return _to_numpy(
        decoder.generate(
            encoded,
            max_length=max_output_length,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
        )
    )
