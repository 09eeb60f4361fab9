"""``CorruptRunFile``: the error for a run-folder file that cannot be read.

Kept here until :mod:`zoo.training.runs` holds the same class; then this
module re-exports it and goes.
"""

import os


class CorruptRunFile(ValueError):
    """A run-folder file that cannot be read: truncated, torn or not what it should hold.

    ``str()`` reads ``"<path> is corrupt (<problem>). <way_out>"``: the file,
    what is wrong with it, and what to do (the backup used instead,
    ``--overwrite``, or the file to delete). The ``zoo`` command shows it
    without a traceback and exits with status 2.

    Attributes:
        path: the corrupt file.
        problem: what is wrong with it, in a few words.
        way_out: the sentence that tells the user what to do.
    """

    def __init__(self, path, problem, way_out):
        self.path = os.fspath(path)
        self.problem = problem
        self.way_out = way_out
        super().__init__(f"{self.path} is corrupt ({problem}). {way_out}")

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.way_out))
