"""The recurrent decoder shared by ``one_to_many`` and ``encoder_decoder``.

One step function serves training and inference: with teacher forcing the
layer runs it over the given previous tokens with the zoo's one time loop
(``zoo.layers.loop.sequence_loop``); at
inference ``zoo.decoding`` loops it inside the graph, feeding each chosen
token back as the next input (y_hat<t-1> -> x<t>). The step calls the zoo
cells directly (``cell(x_t, states) -> (h_t, new_states)``).
"""

import keras
from keras import ops

from zoo import decoding
from zoo._checks import check_choice, check_int, check_rate, check_sizes, check_tokens
from zoo.layers.loop import sequence_loop
from zoo.models import blocks
from zoo.models.attention import make_attention


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentDecoder(keras.layers.Layer):
    """A deep (optionally attentive) recurrent decoder over target tokens.

    Args:
        cell: one of ``zoo.models.blocks.CELLS`` (as ``many_to_one``).
        units: state size of every layer.
        num_layers: stacked cells (>= 1).
        vocab_size: output vocabulary (logits per step); id 0 is padding.
        embedding_dim: size of the target-token embedding.
        attention: ``None``, ``"bahdanau"`` (context from the previous top
            state, fed to the first cell with the embedding) or ``"luong"``
            (context from the new top state, combined as
            ``tanh(W [context; h])``).
        attention_units: attention width (default `units`).
        residual: add each stacked cell's input to its output (layers > 1).
        dropout: dropout on the embeddings and on the top features
            (training only; outside the recurrence).
        transition_block: deep transition inside every cell
            (``DeepTransitionCell``); empty: plain cells.
        chrono_init, cell_options: passed to every cell (as ``many_to_one``).
        output_block: sizes of ReLU Dense layers before the logits.
        start_token, end_token: distinct ids in ``[1, vocab_size)`` that
            start / end a generated sequence (default 2 and 3, the ids of
            `zoo.data.pipelines`; `end_token` None: generation always runs
            `max_length` steps).
        max_length: default number of generated steps.

    Call arguments:
        inputs: list ``[target_in, *initial_states]`` plus
            ``[memory, source]`` with attention. ``target_in`` is
            ``(batch, steps)`` int: the previous tokens (teacher forcing,
            `start_token` first, 0 = padding); ``initial_states`` are
            ``num_layers * (2 if lstm else 1)`` tensors ``(batch, units)``
            (layer by layer, ``h`` then ``c``); ``memory`` is
            ``(batch, source_steps, memory_dim)`` encoder outputs and
            ``source`` ``(batch, source_steps)`` its token ids (0 = padding,
            never attended to).
        training: enables dropout.

    Returns:
        ``(batch, steps, vocab_size)`` logits, with the Keras mask
        ``target_in != 0`` (padded steps are left out of losses/metrics).

    Example:
        >>> dec = RecurrentDecoder(cell="gru", units=8, vocab_size=12, embedding_dim=4)
        >>> logits = dec([np.ones((2, 5), "int32"), np.zeros((2, 8))])
        >>> logits.shape   # (2, 5, 12)
    """

    def __init__(
        self,
        cell="lstm",
        units=64,
        num_layers=1,
        vocab_size=None,
        embedding_dim=32,
        attention=None,
        attention_units=None,
        residual=False,
        dropout=0.0,
        transition_block=(),
        output_block=(),
        start_token=2,
        end_token=3,
        max_length=20,
        chrono_init=None,
        cell_options=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice("cell", cell, blocks.CELLS)
        self.chrono_init, self.cell_options = blocks.check_cell_arguments(
            cell, chrono_init, cell_options)
        check_int("units", units)
        check_int("num_layers", num_layers)
        check_int("vocab_size", vocab_size, minimum=2)
        check_int("embedding_dim", embedding_dim)
        check_choice("attention", attention, blocks.ATTENTIONS)
        check_int("attention_units", attention_units, allow_none=True)
        check_tokens("vocab_size", vocab_size, start_token, end_token)
        check_int("max_length", max_length)
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.attention = attention
        self.attention_units = attention_units
        self.residual = bool(residual)
        self.dropout = check_rate("dropout", dropout)
        self.transition_block = check_sizes("transition_block", transition_block)
        self.output_block = check_sizes("output_block", output_block)
        self.start_token = start_token
        self.end_token = end_token
        self.max_length = max_length
        self.supports_masking = True

        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.cells = [
            blocks.make_cell(cell, units, name=f"cell_{i}", transition_block=self.transition_block,
                             chrono_init=self.chrono_init, cell_options=self.cell_options)
            for i in range(num_layers)
        ]
        self.attention_layer = (
            make_attention(attention, attention_units or units) if attention else None
        )
        self.combine = (
            keras.layers.Dense(units, activation="tanh", name="combine")
            if attention == "luong"
            else None
        )
        self.head = [
            keras.layers.Dense(size, activation="relu", name=f"output_dense_{i}")
            for i, size in enumerate(self.output_block)
        ]
        self.logits = keras.layers.Dense(vocab_size, name="logits")
        self.embedding_dropout = keras.layers.Dropout(self.dropout)
        self.feature_dropout = keras.layers.Dropout(self.dropout)

    # ------------------------------------------------------------------ shapes
    @property
    def states_per_layer(self):
        return blocks.num_states(self.cell)

    @property
    def num_state_tensors(self):
        return self.num_layers * self.states_per_layer

    def _feature_dim(self, memory_dim):
        return self.units + memory_dim if self.attention == "bahdanau" else self.units

    def build(self, input_shape):
        n = self.num_state_tensors
        expected = 1 + n + (2 if self.attention else 0)
        if len(input_shape) != expected:
            raise ValueError(
                f"RecurrentDecoder expects {expected} inputs ([target_in, {n} states"
                f"{', memory, source' if self.attention else ''}]). "
                f"Received: {len(input_shape)} inputs"
            )
        memory_dim = input_shape[1 + n][-1] if self.attention else 0
        self.embedding.build((None, None))
        in_dim = self.embedding_dim + (memory_dim if self.attention == "bahdanau" else 0)
        for cell in self.cells:
            cell.build((None, in_dim))
            in_dim = self.units
        if self.attention_layer is not None:
            self.attention_layer.build((None, None, self.units), input_shape[1 + n])
        if self.combine is not None:
            self.combine.build((None, self.units + memory_dim))
        dim = self._feature_dim(memory_dim)
        for dense in self.head:
            dense.build((None, dim))
            dim = dense.units
        self.logits.build((None, dim))
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]) + (self.vocab_size,)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs[0], 0)

    # ------------------------------------------------------------ the one step
    def _split(self, inputs):
        n = self.num_state_tensors
        target_in, states = inputs[0], tuple(inputs[1 : 1 + n])
        context = ()
        if self.attention:
            memory, source = inputs[1 + n], inputs[2 + n]
            mask = ops.not_equal(source, 0)
            context = (self.attention_layer.keys(memory), memory, mask)
        return target_in, states, context

    def _attend(self, query, context):
        keys, memory, mask = context
        ctx, _ = self.attention_layer.attend(ops.expand_dims(query, 1), keys, memory, mask)
        return ctx[:, 0, :]

    def step(self, embedded, states, context, training=None):
        """One decoder step: ``embedded`` (batch, embedding_dim) and the flat
        tuple of states -> (top features (batch, feature_dim), new states)."""
        k = self.states_per_layer
        x = embedded
        if self.attention == "bahdanau":
            top_h = states[(self.num_layers - 1) * k]
            bahdanau_ctx = self._attend(top_h, context)
            x = ops.concatenate([x, bahdanau_ctx], axis=-1)
        new_states = []
        for i, cell in enumerate(self.cells):
            h, layer_states = cell(x, list(states[i * k : (i + 1) * k]), training=training)
            if not isinstance(layer_states, (list, tuple)):
                layer_states = [layer_states]
            new_states.extend(layer_states)
            if self.residual and i > 0:
                h = h + x
            x = h
        if self.attention == "bahdanau":
            x = ops.concatenate([x, bahdanau_ctx], axis=-1)
        elif self.attention == "luong":
            x = self.combine(ops.concatenate([self._attend(x, context), x], axis=-1))
        return x, tuple(new_states)

    def project(self, features):
        """Output block and logits for features (..., feature_dim)."""
        for dense in self.head:
            features = dense(features)
        return self.logits(features)

    # ------------------------------------------------------- teacher forcing
    def call(self, inputs, training=None):
        target_in, states, context = self._split(inputs)
        embedded = self.embedding_dropout(
            self.embedding(ops.cast(target_in, "int32")), training=training
        )
        init_feature = ops.zeros_like(embedded[:, 0, :1])  # (batch, 1)
        memory_dim = context[1].shape[-1] if context else 0
        init_feature = ops.repeat(init_feature, self._feature_dim(memory_dim), axis=1)

        def body(states, xs_t):
            feature, new_states = self.step(xs_t[0], states, context, training=training)
            return new_states, (feature,)

        _, (features,) = sequence_loop(
            body, states, (ops.transpose(embedded, (1, 0, 2)),), (init_feature,)
        )
        features = ops.transpose(features, (1, 0, 2))
        features = self.feature_dropout(features, training=training)
        return self.project(features)

    # -------------------------------------------------------------- inference
    def _step_fn(self):
        def step_fn(tokens, states, context):
            feature, new_states = self.step(self.embedding(tokens), states, context)
            logits = ops.cast(self.project(feature), "float32")
            # Id 0 is padding: never generated.
            never = ops.equal(ops.arange(self.vocab_size), 0)
            return ops.where(never, decoding.NEG_INF, logits), new_states

        return step_fn

    def _prepare(self, prefix_outputs):
        """Split the encoder/bridge outputs ``[*states, (memory, source)]``."""
        if not isinstance(prefix_outputs, (list, tuple)):
            prefix_outputs = [prefix_outputs]  # a single initial state
        prefix_outputs = list(prefix_outputs)
        dummy = ops.zeros_like(ops.cast(prefix_outputs[0][:, :1], "int32"))
        _, states, context = self._split([dummy] + prefix_outputs)
        return states, context, ops.shape(prefix_outputs[0])[0]

    def generate(self, prefix_outputs, *, max_length=None, temperature=0.0, top_k=0, seed=0,
                 primer=None, include_primer=False):
        """Greedy or sampled generation (see ``zoo.decoding.sample_loop``).

        `prefix_outputs` are the decoder inputs after ``target_in``: the
        initial states, then memory and source with attention. `primer`
        (``(batch, P)`` token ids, 0 after each row's primer) is read before
        `max_length` tokens are generated; `include_primer` keeps it in the output.
        Returns ``(tokens (batch, max_length), scores (batch,))``
        (``(batch, P + max_length)`` tokens with the primer included).
        """
        states, context, batch = self._prepare(prefix_outputs)
        return decoding.sample_loop(
            self._step_fn(),
            states,
            context,
            batch_size=batch,
            start_token=self.start_token,
            end_token=self.end_token,
            max_length=self.max_length if max_length is None else max_length,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            primer=primer,
            include_primer=include_primer,
        )

    def beam_search(self, prefix_outputs, *, beam_width=4, alpha=0.0, max_length=None):
        """Beam search (see ``zoo.decoding.beam_search``)."""
        states, context, batch = self._prepare(prefix_outputs)
        return decoding.beam_search(
            self._step_fn(),
            states,
            context,
            batch_size=batch,
            beam_width=beam_width,
            start_token=self.start_token,
            end_token=self.end_token,
            max_length=self.max_length if max_length is None else max_length,
            alpha=alpha,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            cell=self.cell,
            units=self.units,
            num_layers=self.num_layers,
            vocab_size=self.vocab_size,
            embedding_dim=self.embedding_dim,
            attention=self.attention,
            attention_units=self.attention_units,
            residual=self.residual,
            dropout=self.dropout,
            transition_block=list(self.transition_block),
            output_block=list(self.output_block),
            start_token=self.start_token,
            end_token=self.end_token,
            max_length=self.max_length,
            chrono_init=self.chrono_init,
            cell_options=dict(self.cell_options),
        )
        return config
