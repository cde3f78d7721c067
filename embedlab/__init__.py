"""embedlab: the support package of the sparse-data-and-embeddings course.

Importing this package is cheap on purpose: nothing here imports TensorFlow,
so `embedlab --help`, hints and the exercise list answer at once. Modules that
need TensorFlow import it inside the functions that use it.
"""

__version__ = "0.1.0"
