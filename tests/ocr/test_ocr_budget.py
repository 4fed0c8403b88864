"""The extraction budget counts CPU (own thread + tesseract children), with a wall-clock backstop."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from media.ocr.budget import Budget


def _child(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


def test_waiting_for_a_busy_machine_does_not_spend_the_budget() -> None:
    # A child that sleeps stands for tesseract waiting for a core: wall time passes, CPU does not.
    budget = Budget(2.0)
    with budget.tesseract():
        _child("import time; time.sleep(0.6)")
    time.sleep(0.3)
    assert budget.cpu_used() < 0.4
    assert budget.remaining() > 1.5


def test_tesseract_cpu_is_charged() -> None:
    budget = Budget(10.0)
    with budget.tesseract():
        _child("import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass")
    assert 0.3 <= budget.cpu_used() < 5.0
    assert budget.remaining() < 9.7


def test_own_cpu_is_charged() -> None:
    budget = Budget(10.0)
    end = time.thread_time() + 0.3
    while time.thread_time() < end:
        pass
    assert budget.cpu_used() >= 0.3


def test_wall_clock_backstop() -> None:
    budget = Budget(0.1, wall_factor=2.0)
    time.sleep(0.25)
    assert budget.cpu_used() < 0.1
    assert budget.remaining() < 0


def test_call_limit_is_stretched_for_load_and_capped() -> None:
    budget = Budget(60.0, wall_factor=3.0)
    assert budget.call_limit(cap=30.0) == pytest.approx(90.0, rel=0.01)
    assert budget.call_limit(cap=0.01) == pytest.approx(0.03, rel=0.01)
    spent = Budget(0.5, wall_factor=3.0)
    time.sleep(0.2)
    # Little budget left: a call still gets the minimum (one second, stretched), never beyond the backstop.
    assert spent.call_limit(cap=60.0) <= 1.5


def test_timings_report_wall_and_cpu() -> None:
    budget = Budget(5.0)
    since = time.perf_counter()
    time.sleep(0.05)
    budget.add("ocr", since)
    budget.total()
    assert budget.timings["ocr"] >= 0.05
    assert budget.timings["total"] >= budget.timings["ocr"]
    assert 0.0 <= budget.timings["cpu"] < 0.05
