"""Predict response time and memory on hardware you do not have.

Layers (each module one job):

- ``profiles/``: device profiles (spec sheets, micro-benchmarks, calibrated) and their JSON file format;
- ``microbench``: the micro-benchmarks behind ``vlmbench calibrate --device``;
- ``twin`` + ``trace``: which small model runs the same code path as a catalog entry, and the
  per-module record of what ran (rows through every GEMM, attention lengths, element-wise bytes)
  when it processes the real prompt through the same stand-in processor the runner uses;
- ``opcount``: the trace mapped onto the real-size model (built on the meta device): FLOPs and
  bytes per op class and stage;
- ``timing``: op counts -> milliseconds against a profile's efficiency curves;
- ``predictor``: per prompt and batch size, every stage with an interval;
- ``fit`` / ``validate``: calibration on measured rows, and error statistics against them;
- ``predictions_io``: ``predictions.csv`` (its own schema; never mixed with measured rows);
- ``site_records``: per-hardware prediction records for the site.
"""
