"""Sparse Autoencoders, hands-on: the library behind the course notebooks.

Modules by layer (each imports only from its own and lower layers; docs/ARCHITECTURE.md):

0. ``config``: every ``COURSE_*`` environment variable, parsed in one place.
1. ``device`` (CUDA, MPS or CPU), ``fast`` (fast-mode sizes), ``validate`` (the public API's
   input checks: one clear message per kind of bad input), ``pbar`` (live bars in a
   front-end, plain text when outputs are saved for reading).
2. Science, where every reference implementation lives: ``data`` (Fashion-MNIST, offline
   first), ``metrics`` (reconstruction error, FVU, L0, dead latents, probes), ``sparsity``
   (penalties, top-K), ``models`` (the autoencoder), ``train`` (the fast training loop),
   ``topk`` (top-K recipe, AuxK), ``natural`` (natural-image patches, filters), ``capstone``
   (a classifier, hooks, interventions; its figures in ``capstone_figures``), ``intervene``
   (steering through SAE features), ``interpret`` (what latents represent: measures,
   datasets, the toy experiment, figures, widgets), ``matching`` (comparing dictionaries: MMCS,
   one-to-one matching), ``evaluation`` (a sparse autoencoder inside its network: loss
   recovered, sparse probing, shrinkage, seed stability, the frontier at matched L0), ``saes``
   (the modern SAE families, one module each, and their shared training loop),
   ``superposition`` (the toy model of superposition, planted-feature data), ``absorption``
   (feature absorption on Fashion-MNIST's class hierarchy), ``plots``, ``claims`` (a lesson's
   statements checked on its own run), ``bench`` (training speed).
3. Learner records: ``progress`` (the progress file), ``quiz`` (questions and forms; the bank's
   files and rules in ``quiz_bank``),
   ``checks`` (the graded exercises' checks).
4. The course: ``course`` (lessons and their graded items, score tables), ``exercises``
   (exercise notebooks from solutions), ``grade`` (grading handed-in notebooks).
"""

__version__ = "0.1.0"
