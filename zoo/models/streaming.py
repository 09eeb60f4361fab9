"""Streaming inference: run a causal recurrent model chunk by chunk, carrying its states.

``streaming_model(model)`` reads the functional graph of a zoo model (its
``get_config()`` graph and the operations of ``model.operations``) and
replays it on one chunk of timesteps at a time. Every recurrent layer is run
by a twin that shares its cell (and so its weights) and is called with the
carried states as ``initial_state`` and ``return_state=True``; every other
layer and operation runs as it is. So feeding a sequence chunk by chunk gives
what the model gives on the whole sequence (within float rounding).

Shapes are ``(batch, timesteps, features)`` (``(batch, timesteps)`` for token
ids). Masks work as in the model: padded (masked) steps leave the states
unchanged and the last output of a many-to-one model is the one of the last
valid step, in whichever chunk it came; at padded steps of a per-step output
the output repeats the previous valid one (zeros before any), chunked or not.

Which models stream:
- many-to-one and many-to-many (not bidirectional), any depth, token or
  feature input, with or without masks;
- one-to-many: the condition sets the decoder's states on the first chunk (an
  extra state, ``started``, records that it has); later chunks ignore it;
- refused with a ``ValueError``: bidirectional (or ``go_backwards``) layers,
  whose output at a step depends on later steps; one-to-one (no time axis:
  one step from the zero state); encoder-decoders (the decoder starts from
  the encoder's reading of the whole source: decode step by step with
  ``zoo.decoding`` / the export's ``generate`` and ``beam_search`` instead).

Backend-neutral: public Keras and ``keras.ops`` only.
"""

import keras
from keras import ops

from zoo.layers.base_cell import RecurrentCell
from zoo.layers.loop import sequence_loop
from zoo.layers.rnn import RNN
from zoo.models.decoder import RecurrentDecoder
from zoo.models.transition import DeepTransitionCell

__all__ = ["streaming_model", "StreamingModel", "NotStreamable"]


class NotStreamable(ValueError):
    """The model cannot run chunk by chunk (the message names the layer and why)."""


def streaming_model(model):
    """Wrap a causal recurrent zoo model for chunk-by-chunk inference.

    Args:
        model: a functional ``keras.Model`` from ``zoo.create_model``
            (``many_to_one``, ``many_to_many``, ``one_to_many``; not
            bidirectional).

    Returns:
        A ``StreamingModel`` with ``state_specs``, ``initial_state(batch_size)``
        and ``step(inputs, states)``.

    Raises:
        NotStreamable (a ValueError): for a model that cannot stream (a bidirectional or
            backwards layer, no time axis, an encoder-decoder), naming the
            layer and why.

    Example:
        >>> model = zoo.create_model("many_to_many", input_dim=3, num_classes=4)
        >>> stream = streaming_model(model)
        >>> states = stream.initial_state(2)
        >>> out, states = stream.step({"features": np.zeros((2, 5, 3))}, states)
        >>> out.shape   # (2, 5, 4): the outputs of these 5 steps
    """
    return StreamingModel(model)


def _refuse(model, why):
    raise NotStreamable(f"streaming_model: model '{model.name}' cannot stream: {why}")


def _history(value):
    """The (layer name, node index, tensor index) of a serialized Keras tensor, else None."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        name, node, index = value["config"]["keras_history"]
        return name, node, index
    return None


def _sources(template):
    """Every (layer name, node index) a serialized argument structure reads."""
    found = _history(template)
    if found is not None:
        return [found[:2]]
    if isinstance(template, (list, tuple)):
        return [s for item in template for s in _sources(item)]
    if isinstance(template, dict):
        return [s for item in template.values() for s in _sources(item)]
    return []


def _fill(template, values):
    """The argument structure with every serialized tensor replaced by its value."""
    found = _history(template)
    if found is not None:
        name, node, index = found
        return values[(name, node)][index]
    if isinstance(template, (list, tuple)):
        return [_fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: _fill(item, values) for key, item in template.items()}
    return template


def _input_names(entries):
    """The input layer names of get_config()'s "input_layers" (a dict, a list, or one entry)."""
    if isinstance(entries, dict):
        return [entry[0] for entry in entries.values()]
    if len(entries) == 3 and isinstance(entries[0], str) and isinstance(entries[1], int):
        return [entries[0]]
    return [entry[0] for entry in entries]


def _is_recurrent(op):
    return isinstance(op, (RNN, keras.layers.RNN))


def _output_is_first_state(cell):
    """Whether a cell's output is always its first new state (zoo cells, deep transition)."""
    cells = cell.cells if isinstance(cell, keras.layers.StackedRNNCells) else [cell]
    return isinstance(cells[-1], (RecurrentCell, DeepTransitionCell))


def _flat_sizes(layer):
    cells = layer.cell.cells if isinstance(layer.cell, keras.layers.StackedRNNCells) \
        else [layer.cell]
    sizes = []
    for cell in cells:
        size = cell.state_size
        sizes.extend(list(size) if isinstance(size, (list, tuple)) else [size])
    return sizes


class _Node:
    """One call of an operation in the graph: the operation and its arguments."""

    def __init__(self, op, name, index, args, kwargs):
        self.op, self.name, self.index = op, name, index
        self.args, self.kwargs = args, kwargs
        self.states = None  # a slice (start, stop) of the carried states, for recurrent nodes
        self.twin = None


class StreamingModel:
    """A causal recurrent model run chunk by chunk (see ``streaming_model``).

    Attributes:
        model: the wrapped model (its layers and weights are shared).
        state_specs: list of ``(name, shape without batch, dtype)``:
            ``"state_0"``, ``"state_1"``, ... in layer order (an LSTM's ``h``
            then ``c``), all float32; a one-to-many model's last state is its
            ``started`` flag, shape ``(1,)``.
        input_names: the model's input names, read by ``step``.
        sequence_inputs: the inputs with a time axis (the others, such as a
            condition, are read whole at every chunk).
    """

    def __init__(self, model):
        if not isinstance(model, keras.Model) or not hasattr(model, "operations"):
            raise ValueError(
                f"streaming_model expects a functional keras.Model. Received: model={model!r}")
        self.model = model
        config = model.get_config()
        if "layers" not in config or "input_layers" not in config:
            _refuse(model, "it is not a functional model (no graph in get_config()); build "
                           "it with keras.Model(inputs, outputs) or zoo.create_model")
        ops_by_name = {op.name: op for op in model.operations}
        self.input_names = _input_names(config["input_layers"])
        self._outputs = config["output_layers"]
        self._nodes = []
        for entry in config["layers"]:
            op = ops_by_name[entry["name"]]
            for index, node in enumerate(entry["inbound_nodes"]):
                self._nodes.append(_Node(op, entry["name"], index, node["args"], node["kwargs"]))
        self.sequence_inputs = [
            name for name in self.input_names
            if len(ops_by_name[name].output.shape) >= 2
            and ops_by_name[name].output.shape[1] is None
        ]
        self.state_specs = self._plan_states()

    # ------------------------------------------------------------- structure
    def _recurrent_ancestors(self):
        """(layer name, node) -> whether a recurrent operation lies upstream of it."""
        upstream = {}
        for node in self._nodes:
            reads = _sources(node.args) + _sources(node.kwargs)
            upstream[(node.name, node.index)] = any(
                upstream.get(src, False) or self._recurrent_names.get(src[0], False)
                for src in reads)
        return upstream

    def _plan_states(self):
        model = self.model
        self._recurrent_names = {}
        for node in self._nodes:
            op = node.op
            if isinstance(op, keras.layers.Bidirectional):
                _refuse(model, f"layer '{op.name}' (Bidirectional) also reads the sequence "
                               "backwards, so its output at a step depends on later steps; "
                               "streaming needs a causal (forward-only) model")
            if _is_recurrent(op) and op.go_backwards:
                _refuse(model, f"layer '{op.name}' has go_backwards=True: it reads the sequence "
                               "from the end, so its output at a step depends on later steps")
            self._recurrent_names[op.name] = _is_recurrent(op) or isinstance(op, RecurrentDecoder)
        if not any(self._recurrent_names.values()):
            _refuse(model, "it has no recurrent layer")
        if not self.sequence_inputs:
            _refuse(model, "it has no input with a time axis (inputs: "
                           f"{self.input_names}); a one-to-one model reads one step from the "
                           "zero state, so there is nothing to carry between calls")
        upstream = self._recurrent_ancestors()
        sizes, graph_states = [], False
        for node in self._nodes:
            op = node.op
            if not self._recurrent_names[op.name]:
                continue
            if isinstance(op, RecurrentDecoder):
                if op.attention:
                    _refuse(model, f"layer '{op.name}' attends over the encoder's outputs for "
                                   "the whole source; decode step by step with zoo.decoding "
                                   "(the export's generate / beam_search signatures)")
                state_templates = node.args[0][1:]
                count = op.num_state_tensors
                layer_sizes = [op.units] * count
            else:
                state_templates = node.kwargs.get("initial_state")
                layer_sizes = _flat_sizes(op)
                node.twin = self._twin(op)
            if state_templates:
                if any(upstream.get(src, False) or self._recurrent_names.get(src[0], False)
                       for src in _sources(state_templates)):
                    _refuse(model, f"layer '{op.name}' starts from states another recurrent "
                                   "layer computed over the whole source (an encoder-decoder); "
                                   "decode step by step with zoo.decoding (the export's "
                                   "generate / beam_search signatures)")
                graph_states = True
            node.states = (len(sizes), len(sizes) + len(layer_sizes))
            sizes.extend(layer_sizes)
        specs = [(f"state_{i}", (size,), "float32") for i, size in enumerate(sizes)]
        self._started = len(specs) if graph_states else None
        if graph_states:
            specs.append((f"state_{len(specs)}", (1,), "float32"))
        return specs

    @staticmethod
    def _twin(layer):
        """A recurrent layer sharing `layer`'s cell that takes and returns states."""
        cls = RNN if isinstance(layer, RNN) else keras.layers.RNN
        options = {"input_projection": layer.input_projection,
                   "gradient": layer.gradient} if cls is RNN else {}
        return cls(layer.cell, return_sequences=layer.return_sequences, return_state=True,
                   zero_output_for_mask=layer.zero_output_for_mask,
                   dtype=layer.dtype_policy,  # the layer's own, whatever the global policy
                   name=f"{layer.name}_streaming", **options)

    # ------------------------------------------------------------------ API
    @property
    def state_names(self):
        return [name for name, _, _ in self.state_specs]

    def initial_state(self, batch_size):
        """Zero states for `batch_size` rows: a list, one tensor per ``state_specs`` entry,
        each ``(batch_size, size)`` float32."""
        return [ops.zeros((batch_size,) + tuple(shape), dtype=dtype)
                for _, shape, dtype in self.state_specs]

    def step(self, inputs, states):
        """Run the model on the next chunk of timesteps.

        Args:
            inputs: dict of the model's inputs (named as the model's inputs)
                for this chunk: sequences ``(batch, steps[, features])`` for
                one or more steps; inputs without a time axis whole.
            states: list of tensors as ``state_specs`` (from
                ``initial_state`` or the previous ``step``).

        Returns:
            ``(outputs, new_states)``: what the model gives for this chunk
            given the earlier chunks (per-step outputs for these steps; a
            many-to-one model's output after the steps so far), and the list of
            new states.

        Example:
            >>> out, states = stream.step({"tokens": np.array([[4, 5, 6]])}, states)
        """
        self._check_step(inputs, states)
        states = [ops.cast(s, "float32") for s in states]
        started = None if self._started is None else states[self._started]
        new_states = list(states)
        values = {(name, 0): [ops.convert_to_tensor(inputs[name])] for name in self.input_names}
        for node in self._nodes:
            if node.states is None:
                result = node.op(*_fill(node.args, values), **_fill(node.kwargs, values))
            else:
                start, stop = node.states
                result, carried = self._recurrent(node, values, states[start:stop], started)
                new_states[start:stop] = [ops.cast(s, "float32") for s in carried]
            values[(node.name, node.index)] = keras.tree.flatten(result)
        if started is not None:
            new_states[self._started] = ops.ones_like(started)
        return _fill(_as_template(self._outputs), values), new_states

    # ------------------------------------------------------------- helpers
    def _check_step(self, inputs, states):
        if not isinstance(inputs, dict):
            raise ValueError("step expects `inputs` as a dict of the model's inputs "
                             f"{self.input_names}. Received: {type(inputs).__name__}")
        missing = [n for n in self.input_names if n not in inputs]
        unknown = [n for n in inputs if n not in self.input_names]
        if missing or unknown:
            raise ValueError(f"step expects inputs {self.input_names}. Received: "
                             f"{sorted(inputs)} (missing {missing}, unknown {unknown})")
        if len(states) != len(self.state_specs):
            raise ValueError(f"step expects {len(self.state_specs)} states "
                             f"{self.state_names}. Received: {len(states)} states")

    def _recurrent(self, node, values, carried, started):
        """Run a recurrent node on the chunk from the carried states."""
        op = node.op
        if isinstance(op, RecurrentDecoder):
            target_in, *given = _fill(node.args, values)[0]
            initial = _start(carried, given, started)
            return _decode_chunk(op, target_in, initial)
        args = _fill(node.args, values)
        kwargs = _fill(node.kwargs, values)
        given = kwargs.pop("initial_state", None)
        initial = _start(carried, keras.tree.flatten(given) if given else None, started)
        sequences, mask = args[0], kwargs.get("mask")
        result = keras.tree.flatten(node.twin(sequences, initial_state=initial, **kwargs))
        output, final = result[0], result[1:]
        if _output_is_first_state(op.cell) and not op.zero_output_for_mask:
            top_h = final[len(final) - len(_cell_sizes(op.cell))]
            if not op.return_sequences:
                # The last valid step's output is the top cell's carried h, even when
                # this chunk holds only padding.
                output = ops.cast(top_h, output.dtype)
            elif mask is not None:
                # Before this chunk's first valid step the output repeats the previous
                # output, as it does inside one whole-sequence call.
                seen = ops.cumsum(ops.cast(mask, "int32"), axis=1) > 0
                previous = ops.cast(initial[len(initial) - len(_cell_sizes(op.cell))],
                                    output.dtype)
                output = ops.where(ops.expand_dims(seen, -1), output, previous[:, None, :])
        if op.return_state:
            return [output, *final], final
        return output, final


def _cell_sizes(cell):
    """The state sizes of the top cell (of a stack) of a recurrent layer."""
    top = cell.cells[-1] if isinstance(cell, keras.layers.StackedRNNCells) else cell
    size = top.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def _as_template(outputs):
    """The model's output spec from get_config() as serialized tensors (for `_fill`)."""
    def tensor(entry):
        return {"class_name": "__keras_tensor__", "config": {"keras_history": list(entry)}}

    if isinstance(outputs, dict):
        return {key: tensor(entry) for key, entry in outputs.items()}
    if len(outputs) == 3 and isinstance(outputs[0], str):
        return tensor(outputs)
    return [_as_template(entry) for entry in outputs]


def _start(carried, given, started):
    """The states a recurrent layer starts this chunk from: the carried ones, or, for
    the rows not yet started, the ones the graph computes (a one-to-many condition)."""
    if not given:
        return list(carried)
    flag = ops.cast(started, "bool")  # (batch, 1)
    return [ops.where(flag, c, ops.cast(g, "float32")) for c, g in zip(carried, given)]


def _decode_chunk(decoder, target_in, states):
    """``RecurrentDecoder`` teacher forcing on a chunk of previous tokens from `states`.

    Returns ``(logits (batch, steps, vocab_size), final states)``: the decoder's
    own step and projection, run by the zoo's sequence loop (as its ``call``).
    """
    embedded = decoder.embedding(ops.cast(target_in, "int32"))
    states = tuple(ops.cast(s, decoder.compute_dtype) for s in states)
    init_feature = ops.repeat(ops.zeros_like(embedded[:, 0, :1]), decoder.units, axis=1)

    def body(carry, xs_t):
        feature, new_states = decoder.step(xs_t[0], carry, ())
        return new_states, (feature,)

    final, (features,) = sequence_loop(
        body, states, (ops.transpose(embedded, (1, 0, 2)),), (init_feature,))
    return decoder.project(ops.transpose(features, (1, 0, 2))), list(final)
