"""The archive: append-only, immutable copies of finished runs, organised by hardware and date,
with a versioned index (:mod:`vlmbench.results.archive_index`); and what is computed from it:
history of run medians, the between-run spread, change points and the regression gate.

Modules: ``layout`` (folder names), ``lock`` (the archive's flock), ``checksums``, ``discover``
(run folders under the paths given), ``inspect`` (the checks a run must pass), ``publish``,
``verify``, ``series`` (run medians and current values), ``noise`` (between-run spread;
``between_run_spread(frame, keys)`` is the entry point for ``compare``), ``changepoints``,
``history`` (all of it for one archive), ``ratio`` (bootstrap CI of a p50 ratio), ``quantiles``
(Student t), ``environment`` (fingerprint changes), ``gate``, ``cycle``.
"""
