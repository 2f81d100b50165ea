"""One model's job, the logic every executor runs (below ``executors`` and ``runner``): job.py
(workers, timeouts, OOM), processes.py (the preloaded fork server), worker.py, rows.py."""
