"""A3C training: the worker, the master over a local or Ray backend, the optimizer, settings and the run directory.

Nothing is imported here: a worker process loads only what it uses (:mod:`~brain.training.a3c`), and the
Ray backend only when asked for (:func:`brain.training.trainer.ray_backend_module`).
"""
