"""Measurement: clocks (host and device), memory, energy and the environment fingerprint.

Device differences live in :mod:`vlmbench.measure.device` only; everything else asks a
:class:`~vlmbench.measure.device.DeviceOps` object and never branches on the device kind.
"""
