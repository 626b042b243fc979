"""Sparse Autoencoders, hands-on: the library behind the course notebooks.

Modules by layer (each imports only from its own and lower layers; docs/ARCHITECTURE.md):

0. ``config``: every ``COURSE_*`` environment variable, parsed in one place.
1. ``device`` (CUDA, MPS or CPU), ``fast`` (fast-mode sizes).
2. Science, where every reference implementation lives: ``data`` (Fashion-MNIST, offline
   first), ``metrics`` (reconstruction error, FVU, L0, dead latents, probes), ``sparsity``
   (penalties, top-K), ``models`` (the autoencoder), ``train`` (the fast training loop),
   ``topk`` (top-K recipe, AuxK), ``natural`` (natural-image patches, filters), ``capstone``
   (a classifier, hooks, interventions), ``interpret`` (what latents represent: measures,
   datasets, the toy experiment, figures, widgets), ``matching`` (comparing dictionaries: MMCS,
   one-to-one matching), ``evaluation`` (a sparse autoencoder inside its network: loss
   recovered), ``plots``, ``claims`` (a lesson's statements checked on its own run), ``bench``
   (training speed).
3. Learner records: ``progress`` (the progress file), ``quiz`` (questions and forms),
   ``checks`` (the graded exercises' checks).
4. The course: ``course`` (lessons and their graded items, score tables), ``exercises``
   (exercise notebooks from solutions), ``grade`` (grading handed-in notebooks).
"""

__version__ = "0.1.0"
