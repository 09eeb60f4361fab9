"""Chrono initialisation of gate biases (Tallec & Ollivier, "Can recurrent
neural networks warp time?", ICLR 2018).

A gate that keeps the state with probability σ(b) keeps it for about
1 / (1 - σ(b)) ≈ 1 + e^b steps. To cover dependencies of 1 to T steps, the
paper draws the bias of the gate that keeps the state as

    b ~ log U(1, T - 1)

and, in the LSTM, sets the input gate's bias to -b, so a unit that remembers
long also writes little. `chrono_init=T` on a gated zoo cell applies it; every
other bias keeps the cell's `bias_initializer`.
"""

import keras
from keras import ops

__all__ = ["Chrono", "check_chrono_init", "chrono_bias"]


def check_chrono_init(value, use_bias=True):
    """`chrono_init`: None, or the longest dependency expected, an integer >= 3 steps
    (U(1, T - 1) needs T - 1 > 1); refused for a cell without a bias."""
    if value is None:
        return None
    if not use_bias:
        raise ValueError(
            "`chrono_init` sets gate biases, but the cell has none (use_bias=False). "
            f"Received: chrono_init={value!r}, use_bias=False")
    if isinstance(value, bool) or not isinstance(value, int) or value < 3:
        raise ValueError(
            "`chrono_init` must be None or the longest dependency expected, in steps "
            f"(an integer >= 3). Received: chrono_init={value!r}")
    return value


@keras.saving.register_keras_serializable(package="zoo")
class Chrono(keras.initializers.Initializer):
    """Initializer drawing log U(1, max_length - 1) for every entry
    (`sign=-1` gives its negation, the LSTM input gate's -b_f)."""

    def __init__(self, max_length, sign=1.0, seed=None):
        self.max_length = check_chrono_init(max_length)
        if self.max_length is None:
            raise ValueError("Chrono needs a `max_length` (an integer >= 3). Received: None")
        self.sign = float(sign)
        self.seed = seed
        self._generator = keras.random.SeedGenerator(seed) if seed is not None else None

    def __call__(self, shape, dtype=None):
        dtype = dtype or keras.config.floatx()
        seed = self._generator if self._generator is not None else None
        uniform = keras.random.uniform(shape, minval=1.0, maxval=float(self.max_length - 1),
                                       dtype="float32", seed=seed)
        return ops.cast(self.sign * ops.log(uniform), dtype)

    def get_config(self):
        return {"max_length": self.max_length, "sign": self.sign, "seed": self.seed}


def chrono_bias(layout, units, max_length, base, seed=None):
    """A bias initializer for a cell whose bias is blocks of `units`, in order.

    `layout` names each block: "keep" (b ~ log U(1, T - 1), the gate that keeps
    the state), "write" (-b, the same draw negated: the LSTM input gate) or None
    (the cell's `base` initializer). Returns `initializer(shape, dtype)` for a
    bias of shape (len(layout) * units,).
    """
    draw = Chrono(max_length, seed=seed)

    def initializer(shape, dtype=None):
        b = draw((units,), dtype=dtype)
        parts = []
        for block in layout:
            if block == "keep":
                parts.append(b)
            elif block == "write":
                parts.append(-b)
            else:
                parts.append(base((units,), dtype=dtype))
        return ops.concatenate(parts)

    return initializer
