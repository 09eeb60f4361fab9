"""The error convention of the raw-level signatures (``predict``, ``predict_beam``).

Bad input inside a raw-level signature fails with ``tf.errors.InvalidArgumentError``
raised by an ``Assert`` op whose one message starts with :data:`PREFIX`, names the
input, what was received and what was expected. TensorFlow wraps that message
(``"Graph execution error: ... assertion failed: [predict: ...]"``) and C-escapes it;
:func:`error_message` recovers the ``"predict: ..."`` text from such an error.

Example:
    >>> ok = tf.reduce_all(ids < 10)
    >>> with tf.control_dependencies([check(ok, "input 'condition' id out of range")]):
    ...     ids = tf.identity(ids)
    >>> try: loaded.signatures["predict"](condition=tf.constant(["12"]))
    ... except tf.errors.InvalidArgumentError as e: print(error_message(e))
    predict: input 'condition' ...
"""

import ast
import codecs
import re

import tensorflow as tf

PREFIX = "predict: "
# In a graph (a signature): "assertion failed: [predict: ...]" (C-escaped); in eager
# mode: "Summarized data: b'predict: ...'" (a Python bytes literal).
_ASSERTION = re.compile(r"assertion failed: \[(predict: .*?)\]\s*(?:\n|$)", re.S)
_EAGER = re.compile(r"Summarized data: (b(['\"])predict: .*\2)\s*$", re.S)


def check(ok, *parts):
    """An ``Assert`` op that fails, when the scalar bool `ok` is false, with the message
    :data:`PREFIX` + the `parts` joined (Python strings and tensors, the latter written
    in full by ``tf.strings.format``). Put it in ``tf.control_dependencies``."""
    template = PREFIX + "".join("{}" if tf.is_tensor(p) else str(p).replace("{}", "{ }")
                                for p in parts)
    tensors = [p for p in parts if tf.is_tensor(p)]
    message = tf.strings.format(template, tensors, summarize=-1) if tensors else template
    return tf.debugging.Assert(ok, [message])


def checked(value, ok, *parts):
    """`value` (a tensor) after :func:`check` of `ok` with the message `parts`."""
    with tf.control_dependencies([check(ok, *parts)]):
        return tf.identity(value)


def error_message(error):
    """The ``"predict: ..."`` message of an InvalidArgumentError (or its text) raised by
    a raw-level signature, unescaped; None when it holds none."""
    text = getattr(error, "message", None) or str(error)
    eager = _EAGER.search(text)
    if eager is not None:
        return ast.literal_eval(eager.group(1)).decode("utf-8", "replace")
    match = _ASSERTION.search(text)
    if match is None:
        return None
    return codecs.decode(match.group(1).encode("latin-1", "backslashreplace"),
                         "unicode_escape").encode("latin-1").decode("utf-8", "replace")
