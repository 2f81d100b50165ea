"""Energy: empty with a reason where there is no counter (this CPU machine, through the real
runner), and the arithmetic of EnergyTracker and the energy metrics against counters whose
truth is known: counter sources that integrate a constant power over the real clock, plugged
in through the same ``EnergyCounter`` interface NVML implements."""

from __future__ import annotations

import time

import pytest
import torch

from vlmbench.measure.energy import EnergyTracker, counter_update_interval_ms, energy_counter, probe_counter_update
from vlmbench.measure.nvml import Nvml
from vlmbench.metrics.energy import MIN_COUNTER_UPDATES, EnergyWindow, compute_energy_metrics
from vlmbench.results.reader import read_rows
from vlmbench.results.manifest import read_manifest

from conftest import TINY


class ConstantPowerMeter:
    """A cumulative energy counter for a load of ``watts``: mJ = W x elapsed ms, read off the
    monotonic clock; with ``update_ms`` it only moves in steps of that period, as NVML's does."""

    def __init__(self, watts: float, update_ms: float = 0.0) -> None:
        self.watts = watts
        self.update_ns = int(update_ms * 1e6)
        self.t0 = time.perf_counter_ns()

    def total_energy_mj(self) -> int:
        elapsed = time.perf_counter_ns() - self.t0
        if self.update_ns:
            elapsed -= elapsed % self.update_ns
        return int(self.watts * elapsed / 1e6)


class UnreadableCounter:
    def total_energy_mj(self):
        return None


@pytest.mark.slow
def test_cpu_run_has_empty_energy_and_says_why(tiny_run):
    rows = read_rows(tiny_run.requests_csv)
    ok = [r for r in rows if r["status"] == "ok"]
    assert ok and all(r["energy_j"] is None and r["tokens_per_j"] is None for r in ok)
    reason = read_manifest(tiny_run.run_dir)["models"][TINY]["energy"]
    assert reason == "unsupported: device cpu is not an NVIDIA GPU"


def test_no_nvml_means_no_counter_and_a_reason():
    assert Nvml.open(torch.device("cpu")) is None
    counter, status = energy_counter(None)
    assert counter is None and status.startswith("unsupported: ") and "cpu" in status


def test_tracker_measures_the_energy_of_its_window():
    meter = ConstantPowerMeter(watts=250.0)
    with EnergyTracker(meter) as energy:
        time.sleep(0.2)
    assert energy.duration_ms == pytest.approx(200.0, rel=0.25)
    # 250 W over the window's duration (the counter is read just outside the clock reads)
    assert energy.joules == pytest.approx(250.0 * energy.duration_ms / 1000.0, rel=0.05)


def test_a_batch_window_is_shared_equally_and_adds_up():
    meter = ConstantPowerMeter(watts=300.0)
    with EnergyTracker(meter) as energy:
        time.sleep(0.1)
    window = EnergyWindow(energy.joules, energy.duration_ms, batch_size=4, counter_update_ms=1.0)
    rows = [compute_energy_metrics(window, {"n_output_tokens": 16}) for _ in range(4)]
    assert sum(r["energy_j"] for r in rows) == pytest.approx(energy.joules)
    assert all(r["energy_j"] == pytest.approx(energy.joules / 4) for r in rows)
    # tokens per joule of one row = the window's tokens over the window's energy
    assert rows[0]["tokens_per_j"] == pytest.approx(4 * 16 / energy.joules)


def test_windows_too_short_for_the_counter_are_empty_not_zero():
    meter = ConstantPowerMeter(watts=100.0, update_ms=20.0)
    update_ms = counter_update_interval_ms(meter, duration_s=0.3)
    assert update_ms == pytest.approx(20.0, rel=0.25)
    with EnergyTracker(meter) as short:
        time.sleep(0.03)
    short_row = compute_energy_metrics(EnergyWindow(short.joules, short.duration_ms, 1, update_ms),
                                       {"n_output_tokens": 8})
    assert short_row == {"energy_j": None, "tokens_per_j": None}
    with EnergyTracker(meter) as long:
        time.sleep(MIN_COUNTER_UPDATES * update_ms * 1.5 / 1000.0)
    long_row = compute_energy_metrics(EnergyWindow(long.joules, long.duration_ms, 1, update_ms),
                                      {"n_output_tokens": 8})
    # within one counter step (20 ms at 100 W = 2 J) of the true energy
    assert long_row["energy_j"] == pytest.approx(100.0 * long.duration_ms / 1000.0, abs=2.0)
    assert long_row["tokens_per_j"] == pytest.approx(8 / long_row["energy_j"])


def test_an_unreadable_or_still_counter_gives_empty_columns():
    with EnergyTracker(UnreadableCounter()) as energy:
        pass
    assert energy.joules is None
    row = compute_energy_metrics(EnergyWindow(energy.joules, energy.duration_ms, 1), {"n_output_tokens": 4})
    assert row == {"energy_j": None, "tokens_per_j": None}
    still = compute_energy_metrics(EnergyWindow(0.0, 50.0, 1, 1.0), {"n_output_tokens": 4})
    assert still == {"energy_j": None, "tokens_per_j": None}
    with EnergyTracker(None) as none:
        pass
    assert none.joules is None and none.duration_ms is not None


class StillCounter:
    """A counter that reads but never moves (a driver that does not update it)."""

    def total_energy_mj(self) -> int:
        return 1000


def test_a_slow_counter_is_probed_again_longer_and_its_period_found():
    """150 ms updates: a 0.2 s probe sees at most one change, so the probe is repeated for
    1.2 s, which sees about eight and finds the period; the manifest says how long it took."""
    probe = probe_counter_update(ConstantPowerMeter(watts=100.0, update_ms=150.0), durations_s=(0.2, 1.2))
    assert probe.update_ms == pytest.approx(150.0, rel=0.25)
    assert probe.probed_s == pytest.approx(1.4)
    manifest = probe.to_json()
    assert manifest["counter_update_ms"] == probe.update_ms and manifest["windows"].startswith("kept when")
    # the found period then bounds the windows: 5 periods are kept, 4 are not
    assert EnergyWindow(1.0, MIN_COUNTER_UPDATES * probe.update_ms, 1, probe.update_ms).usable
    assert not EnergyWindow(1.0, (MIN_COUNTER_UPDATES - 1) * probe.update_ms, 1, probe.update_ms).usable


def test_a_counter_whose_period_stays_unknown_leaves_every_window_empty():
    """Fails closed: after every probe the period is unknown, the manifest says every window
    is left empty, and a window with a positive delta and any length gives empty columns."""
    probe = probe_counter_update(StillCounter(), durations_s=(0.05, 0.1))
    assert probe.update_ms is None and probe.probed_s == pytest.approx(0.15)
    assert probe.to_json()["windows"].startswith("all left empty")
    meter = ConstantPowerMeter(watts=200.0)
    with EnergyTracker(meter) as energy:
        time.sleep(0.05)
    assert energy.joules > 0
    for duration_ms in (energy.duration_ms, 60_000.0):
        row = compute_energy_metrics(EnergyWindow(energy.joules, duration_ms, 1, probe.update_ms),
                                     {"n_output_tokens": 8})
        assert row == {"energy_j": None, "tokens_per_j": None}
