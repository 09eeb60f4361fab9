"""The names of the recurrent cells every model factory takes as ``cell=``, in one
place that imports nothing, so that ``zoo list`` and the recipes' checks read them
without loading Keras (``zoo.models.blocks`` maps each name to its classes)."""

CELLS = ("simple", "gru", "lstm", "indrnn", "mingru", "minlstm", "lnlstm")
# The cells with a gate that keeps the state, which `chrono_init` initialises.
GATED_CELLS = ("gru", "lstm", "mingru", "minlstm", "lnlstm")
