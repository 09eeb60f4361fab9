"""The zoo recurrent layers: drop-in replacements for Keras's recurrent layers.

- `RNN` (`rnn.py`) runs any zoo cell, any cell that follows Keras's cell
  contract, or a list of cells (a deep stack) over time.
- `SimpleRNN`, `GRU` and `LSTM` (`simple_rnn.py`, `gru.py`, `lstm.py`, each
  beside its cell, as Keras pairs them) take every constructor and call
  argument of `keras.layers.SimpleRNN/GRU/LSTM`, keep Keras's weight layout
  (weights transfer both ways with `set_weights`) and give the same numbers.
  They also take `input_projection` and `gradient` (see `RNN`).
- `IndRNN` (`indrnn.py`), `MinGRU` and `MinLSTM` (`min_rnn.py`, which run a
  whole sequence as a parallel scan, see their `mode`) are the zoo's own cells.
- `loop.py` holds the one time loop; `fused.py` the driver of the
  hand-written backward pass, which asks each cell for its backward step.

Shapes are (batch, timesteps, features). Masks are (batch, timesteps): at a
masked step the states are carried over and the output repeats the previous
output (zeros with `zero_output_for_mask=True`). Before a row's first unmasked
step the output is zeros on TensorFlow and the first initial state on JAX, as
Keras's layers give on each backend (zeros on both with `unroll=True`);
docs/layers.md has the table. Integer inputs are cast to the compute dtype.
"""

from zoo.layers.gru import GRU
from zoo.layers.indrnn import IndRNN
from zoo.layers.layer_norm_lstm import LayerNormLSTM
from zoo.layers.lstm import LSTM
from zoo.layers.min_rnn import MinGRU, MinLSTM
from zoo.layers.rnn import RNN
from zoo.layers.simple_rnn import SimpleRNN

__all__ = ["RNN", "SimpleRNN", "GRU", "LSTM", "IndRNN", "LayerNormLSTM", "MinGRU", "MinLSTM"]
