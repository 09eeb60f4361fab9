"""The zoo recurrent cells: `SimpleRNNCell`, `GRUCell` and `LSTMCell`.

Each cell lives beside its layer in `zoo.layers` (`simple_rnn.py`, `gru.py`,
`lstm.py`, as Keras pairs them) and derives from the public base
`zoo.layers.base_cell.RecurrentCell`, which documents the cell protocol that
`zoo.layers.RNN` and the hand-written backward pass use. This module keeps
the public names `zoo.cells.*`.

Shapes: one step takes (batch, features) inputs and (batch, units) states.
"""

from zoo.layers.base_cell import RecurrentCell
from zoo.layers.gru import GRUCell
from zoo.layers.indrnn import IndRNNCell
from zoo.layers.layer_norm_lstm import LayerNormLSTMCell
from zoo.layers.lstm import LSTMCell
from zoo.layers.min_rnn import MinGRUCell, MinLSTMCell
from zoo.layers.simple_rnn import SimpleRNNCell

__all__ = ["RecurrentCell", "SimpleRNNCell", "GRUCell", "LSTMCell", "IndRNNCell",
           "LayerNormLSTMCell", "MinGRUCell", "MinLSTMCell"]
