"""Sparse Autoencoders, hands-on: the library behind the course notebooks.

Modules, one concern each: ``device``, ``data``, ``fast``, ``models``, ``sparsity``,
``train``, ``metrics``, ``plots``, ``checks``, ``quiz``, ``progress``, ``exercises``.
"""

__version__ = "0.1.0"
