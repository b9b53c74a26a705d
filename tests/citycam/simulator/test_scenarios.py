"""Scenario timing, checked through the schedule with a fake clock: who sends when."""

import itertools
import random

from citycam.simulator.fleet import Fleet, generate_fleet
from citycam.simulator.scenarios import Blip, Combined, Degraded, Failures, Flapping, PowerCut, build
from citycam.simulator.schedule import Batch, Schedule, Single


def _fleet() -> Fleet:
    return generate_fleet(800, seed=11)


def _drive(schedule: Schedule, until: float, step: float = 0.25) -> list[Single | Batch]:
    sends: list[Single | Batch] = []
    t = 0.0
    while t <= until:
        sends.extend(schedule.due(t))
        t += step
    return sends


def test_steady_cameras_report_once_per_interval() -> None:
    fleet = _fleet()
    schedule = Schedule(fleet, Combined([]))
    horizon = 600.0
    sends = _drive(schedule, horizon, step=1.0)
    per_camera: dict[int, int] = {}
    for send in sends:
        if isinstance(send, Single):
            per_camera[send.camera] = per_camera.get(send.camera, 0) + 1
    assert set(per_camera) == set(fleet.direct_cameras())
    for index, count in per_camera.items():
        expected = horizon / fleet.cameras[index].heartbeat_interval_s
        assert expected - 1 <= count <= expected + 1
    batches = [s for s in sends if isinstance(s, Batch)]
    assert {b.gateway for b in batches} == set(range(len(fleet.gateways)))
    assert all(len(b.items) == len(fleet.gateways[b.gateway].cameras) for b in batches)


def test_power_cut_darkens_one_gateway_and_its_cameras_only_during_the_cut() -> None:
    fleet = _fleet()
    cut = PowerCut(at=100.0, length=120.0)
    cut.prepare(fleet, random.Random(1), 600)
    assert cut.gateway_index is not None
    schedule = Schedule(fleet, Combined([cut]))
    sends = _drive(schedule, 400)
    ours = [s for s in sends if isinstance(s, Batch) and s.gateway == cut.gateway_index]
    assert not [s for s in ours if 100.0 <= s.due < 220.0]
    assert [s for s in ours if s.due < 100.0] and [s for s in ours if s.due >= 220.0]
    others_during = [s for s in sends if isinstance(s, Batch) and s.gateway != cut.gateway_index and 100 <= s.due < 220]
    assert others_during
    assert cut.describe(150.0) is not None and cut.describe(300.0) is None


def test_blip_silences_everyone_then_all_reconnect_within_a_second() -> None:
    fleet = _fleet()
    blip = Blip(at=60.0, length=45.0)
    blip.prepare(fleet, random.Random(1), 600)
    schedule = Schedule(fleet, Combined([blip]))
    sends = _drive(schedule, 140, step=0.05)
    assert not [s for s in sends if 60.0 <= s.due < 105.0]
    burst = [s for s in sends if 105.0 <= s.due < 106.0]
    devices = len(fleet.direct_cameras()) + len(fleet.gateways)
    # Everyone whose report fell inside the blip (all of them: intervals are at most 60 s) reports at once.
    silent_long_enough = {s.camera for s in burst if isinstance(s, Single)} | {
        -1 - s.gateway for s in burst if isinstance(s, Batch)
    }
    assert len(silent_long_enough) >= 0.95 * devices


def test_flapping_cameras_alternate_silence_and_reports() -> None:
    fleet = _fleet()
    flapping = Flapping(share=0.05)
    flapping.prepare(fleet, random.Random(2), 600)
    assert flapping.cycles
    for index, (period, _) in flapping.cycles.items():
        assert fleet.gateway_of(index) is None
        samples = [flapping.camera(index, t / 10).send for t in range(int(period * 30))]
        down_share = samples.count(False) / len(samples)
        assert abs(down_share - 4 / 7) < 0.02
        changes = sum(1 for a, b in itertools.pairwise(samples) if a != b)
        assert changes >= 5  # three full cycles: silent, back, silent, back...


def test_failed_cameras_stay_silent_inside_their_window() -> None:
    fleet = _fleet()
    failures = Failures(share=0.05)
    failures.prepare(fleet, random.Random(3), 600)
    schedule = Schedule(fleet, Combined([failures]))
    sends = _drive(schedule, 600, step=1.0)
    for send in sends:
        if isinstance(send, Single) and send.camera in failures.windows:
            start, end = failures.windows[send.camera]
            assert not start <= send.due < end
        if isinstance(send, Batch):
            for camera, _ in send.items:
                if camera in failures.windows:
                    start, end = failures.windows[camera]
                    assert not start <= send.due < end
    for start, _ in failures.windows.values():
        assert 60 <= start <= 420


def test_degraded_cameras_report_trouble_from_their_start() -> None:
    fleet = _fleet()
    degraded = Degraded(share=0.05)
    degraded.prepare(fleet, random.Random(4), 600)
    index, start = next(iter(degraded.starts.items()))
    assert not degraded.camera(index, start - 1).degraded
    assert degraded.camera(index, start).degraded and degraded.camera(index, start).send


def test_build_knows_every_name_and_refuses_others() -> None:
    assert build(["all"]).name == "failures+degraded+flapping+power-cut+blip"
    assert build(["steady"]).name == "steady"
    try:
        build(["earthquake"])
    except ValueError as exc:
        assert "earthquake" in str(exc)
    else:
        raise AssertionError("an unknown scenario must be refused")
