"""In-graph decoding: sampling, greedy, beam search (against brute force), and a
copy task learned in seconds and decoded exactly."""

import itertools

import keras
import numpy as np
import pytest
from keras import ops

import zoo
from zoo import decoding, losses

pytestmark = pytest.mark.jax
PAD, START, END, A, B = 0, 1, 2, 3, 4


def _chain(table):
    """A step function for a Markov chain over 5 tokens: logits = log table[prev].
    The carry counts steps, to check that it is threaded through."""
    log_table = ops.convert_to_tensor(np.log(np.maximum(table, 1e-30)).astype("float32"))

    def step_fn(tokens, carry, context):
        (count,) = carry
        return ops.take(log_table, tokens, axis=0), (count + 1.0,)

    return step_fn


# Rows: the distribution of the next token after PAD, START, END, A, B.
GREEDY_IS_WORSE = np.array(
    [
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0.6, 0.4],  # after START: A (0.6) or B (0.4)
        [0, 0, 1, 0, 0],
        [0, 0, 0.34, 0.33, 0.33],  # after A: nearly uniform
        [0, 0, 0.9, 0.05, 0.05],  # after B: END (0.9)
    ]
)


def _run(fn, table, batch=1, **kwargs):
    carry = (ops.zeros((batch, 1)),)
    tokens, scores = fn(_chain(table), carry, (), batch_size=batch, start_token=START,
                        end_token=END, **kwargs)
    return ops.convert_to_numpy(tokens), ops.convert_to_numpy(scores)


def test_greedy_follows_the_argmax_and_pads_after_end():
    tokens, scores = _run(decoding.sample_loop, GREEDY_IS_WORSE, max_length=5)
    np.testing.assert_array_equal(tokens, [[A, END, PAD, PAD, PAD]])
    np.testing.assert_allclose(scores, np.log([0.6 * 0.34]), rtol=1e-5)


def test_beam_search_finds_the_better_sequence():
    tokens, scores = _run(decoding.beam_search, GREEDY_IS_WORSE, max_length=5, beam_width=2)
    np.testing.assert_array_equal(tokens, [[B, END, PAD, PAD, PAD]])
    np.testing.assert_allclose(scores, np.log([0.4 * 0.9]), rtol=1e-5)


def _brute_force(table, max_length, alpha):
    best, best_tokens = -np.inf, None
    for length in range(1, max_length + 1):
        for seq in itertools.product([END, A, B], repeat=length):
            if END in seq[:-1] or (length < max_length and seq[-1] != END):
                continue
            logp = sum(np.log(table[p, t]) for p, t in zip((START,) + seq[:-1], seq))
            norm = logp / ((5 + length) / 6) ** alpha
            if norm > best:
                best, best_tokens = norm, list(seq) + [PAD] * (max_length - length)
    return best_tokens


@pytest.mark.parametrize("alpha", [0.0, 0.6, 3.0])
@pytest.mark.slow
def test_wide_beam_search_equals_brute_force(alpha):
    rng = np.random.default_rng(int(alpha * 10))
    table = np.zeros((5, 5))
    table[:, 2:] = rng.dirichlet(np.ones(3), size=5)
    tokens, _ = _run(decoding.beam_search, table, max_length=3, beam_width=16, alpha=alpha)
    assert tokens[0].tolist() == _brute_force(table, 3, alpha)


def test_length_penalty_formula():
    got = ops.convert_to_numpy(decoding.length_penalty(np.array([1, 7]), 0.6))
    np.testing.assert_allclose(got, [1.0, 2.0**0.6], rtol=1e-6)


@pytest.mark.slow
def test_sampling_is_seeded_and_follows_the_distribution():
    probs = np.array([0.0, 0.5, 0.3, 0.2])
    logits = np.tile(np.log(np.maximum(probs, 1e-30)), (4000, 1)).astype("float32")

    def sample(temperature=1.0, top_k=0, seed=7, step=0):
        return ops.convert_to_numpy(
            decoding.choose_tokens(logits, temperature=temperature, top_k=top_k, seed=seed,
                                   step=step)
        )

    first = sample()
    np.testing.assert_array_equal(first, sample())
    assert np.mean(first != sample(seed=8)) > 0.3
    assert np.mean(first != sample(step=1)) > 0.3
    freq = np.bincount(first, minlength=4) / len(first)
    np.testing.assert_allclose(freq, probs, atol=0.03)
    sharp = probs**2 / np.sum(probs**2)  # temperature 0.5
    np.testing.assert_allclose(
        np.bincount(sample(temperature=0.5), minlength=4) / len(first), sharp, atol=0.03
    )
    assert set(np.unique(sample(top_k=2))) == {1, 2}
    assert set(np.unique(sample(top_k=1))) == {1}
    assert set(np.unique(sample(temperature=0.0))) == {1}


def test_uniform_noise_range():
    u = ops.convert_to_numpy(decoding.uniform_noise(3, 5, (100, 50)))
    assert u.min() > 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01


@pytest.mark.parametrize("attention", [None, "bahdanau", "luong"])
@pytest.mark.slow
def test_greedy_equals_beam_width_one(attention):
    model = zoo.create_model("encoder_decoder", source_vocab_size=12, target_vocab_size=6,
                             units=8, attention=attention, num_layers=2, cell="gru",
                             max_output_length=8)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.8, size=w.shape) for w in model.get_weights()])
    logits_layer = model.get_layer("decoder").logits
    bias = ops.convert_to_numpy(logits_layer.bias)
    bias[END] += 1.5  # make END likely, so that early stopping is exercised
    logits_layer.bias.assign(bias)
    source = rng.integers(1, 12, size=(6, 5)).astype("int32")
    source[:2, 3:] = 0
    greedy = decoding.translate(model, source)
    beam = decoding.translate(model, source, beam_width=1)
    np.testing.assert_array_equal(beam[0], greedy[0])
    np.testing.assert_allclose(beam[1], greedy[1], rtol=1e-5)
    assert np.any(greedy[0] == END) and np.any(greedy[0] == PAD)


@pytest.mark.slow
def test_greedy_generation_matches_teacher_forced_argmax():
    model = zoo.create_model("one_to_many", input_dim=3, vocab_size=7, units=8, num_layers=2,
                             end_token=None, max_length=6)
    condition = np.random.default_rng(1).normal(size=(3, 3)).astype("float32")
    tokens, _ = decoding.generate(model, condition)
    target_in = np.concatenate([np.full((3, 1), START), tokens[:, :-1]], axis=1)
    logits = ops.convert_to_numpy(model({"condition": condition, "target_in": target_in}))
    logits[..., 0] = -np.inf  # padding is never generated
    np.testing.assert_array_equal(np.argmax(logits, -1), tokens)
    sampled, _ = decoding.generate(model, condition, temperature=1.0, top_k=3, seed=5)
    again, _ = decoding.generate(model, condition, temperature=1.0, top_k=3, seed=5)
    np.testing.assert_array_equal(sampled, again)


def _copy_data(n, max_len, rng):
    lengths = rng.integers(2, max_len + 1, size=n)
    source = np.zeros((n, max_len), "int32")
    target = np.zeros((n, max_len + 1), "int32")
    for i, length in enumerate(lengths):
        seq = rng.integers(3, 8, size=length)
        source[i, :length] = seq
        target[i, :length] = seq
        target[i, length] = END
    target_in = np.concatenate([np.full((n, 1), START, "int32"), target[:, :-1]], axis=1)
    target_in[target == 0] = 0
    return {"source": source, "target_in": target_in}, target


@pytest.mark.slow
def test_copy_task_is_learned_and_decoded_exactly():
    rng = np.random.default_rng(0)
    x, y = _copy_data(512, 4, rng)
    model = zoo.create_model("encoder_decoder", source_vocab_size=8, target_vocab_size=8,
                             units=32, embedding_dim=16, attention="luong", cell="gru",
                             max_output_length=5, start_token=START, end_token=END)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=losses.SequenceLoss(ignore_class=0))
    model.fit(x, y, batch_size=64, epochs=12, verbose=0)
    test_x, test_y = _copy_data(32, 4, np.random.default_rng(1))
    tokens, _ = decoding.translate(model, test_x["source"])
    np.testing.assert_array_equal(tokens, test_y)
    tokens, _ = decoding.translate(model, test_x["source"], beam_width=3, alpha=0.6)
    np.testing.assert_array_equal(tokens, test_y)


@pytest.mark.slow
def test_primed_greedy_generation_continues_each_rows_primer_as_teacher_forcing_does():
    """Rows with primers of 3, 1 and 0 tokens: each continuation is the teacher-forced
    argmax after START and that row's own primer; with include_primer the row is its
    primer, then the continuation, then 0 padding to P + max_length."""
    model = zoo.create_model("one_to_many", input_dim=3, vocab_size=7, units=8, num_layers=2,
                             end_token=None, max_length=4)
    condition = np.random.default_rng(2).normal(size=(3, 3)).astype("float32")
    primers = [[5, 3, 6], [4], []]
    padded = np.zeros((3, 3), np.int32)
    for row, p in enumerate(primers):
        padded[row, :len(p)] = p
    alone, _ = decoding.generate(model, condition, primer=padded)
    both, _ = decoding.generate(model, condition, primer=padded, include_primer=True)
    assert alone.shape == (3, 4) and both.shape == (3, 3 + 4)
    for row, p in enumerate(primers):
        np.testing.assert_array_equal(both[row, :len(p) + 4], np.r_[p, alone[row]])
        assert not both[row, len(p) + 4:].any()
        target_in = np.r_[START, p, alone[row, :-1]][None].astype("int32")
        logits = ops.convert_to_numpy(model({"condition": condition[row:row + 1],
                                             "target_in": target_in}))[0]
        logits[:, 0] = -np.inf
        np.testing.assert_array_equal(np.argmax(logits, -1)[len(p):], alone[row])
    unprimed, _ = decoding.generate(model, condition)
    np.testing.assert_array_equal(alone[2], unprimed[2])  # a row of zeros: no primer


@pytest.mark.parametrize("primer, message", [
    ([[3, 0, 4]], "a row has an id after a 0"),
    ([[3, 9]], r"ids must lie in \[1, 7\).*Received: ids in \[3, 9\]"),
    ([[3], [4]], "2 rows for 3 conditions"),
    ([[]], r"P >= 1. Received: shape \(3, 0\)"),
    ([[1.5]], "integer token ids"),
])
def test_a_bad_primer_is_refused_saying_what_was_received(primer, message):
    model = zoo.create_model("one_to_many", input_dim=3, vocab_size=7, units=4,
                             max_length=2)
    with pytest.raises(ValueError, match=message):
        decoding.generate(model, np.zeros((3, 3), "float32"), primer=np.asarray(primer))
