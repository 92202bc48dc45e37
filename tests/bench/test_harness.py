"""The benchmark's own judgement: server time read from responses, lifecycle phases, targets."""

from __future__ import annotations

from email.message import Message

import pytest

from bench import load, measure


def headers(**values: str) -> Message:
    message = Message()
    for name, value in values.items():
        message[name.replace("_", "-")] = value
    return message


def test_the_server_time_is_read_from_server_timing():
    assert load.server_ms(headers(Server_Timing="app;dur=41.7")) == 41.7
    assert load.server_ms(headers(Server_Timing="cache;dur=2, app;dur=3.0")) == 3.0
    assert load.server_ms(headers(Server_Timing="cache;dur=2")) is None
    assert load.server_ms(headers()) is None


def test_a_tally_keeps_server_times_of_successes_only():
    tally = load.Tally()
    for client, server in ((120.0, 30.0), (140.0, 50.0), (130.0, 40.0)):
        tally.record("triage", load.Reply(200, b"{}", client, server))
    tally.record("triage", load.Reply(409, b"{}", 90.0, 1.0))  # a conflict: counted, not timed
    stats = tally.stats("triage")
    assert (stats["ok"], stats["conflicts_409"]) == (3, 1)
    assert (stats["server_p50_ms"], stats["server_p95_ms"]) == (40.0, 50.0)
    assert stats["p50_ms"] == 130.0


def test_answer_phases_are_checked():
    assert load.answer_list("minimal") == ["minimal"]
    assert load.answer_list(" record , minimal ") == ["record", "minimal"]
    for bad in ("", "full", "record,all"):
        with pytest.raises(SystemExit):
            load.answer_list(bad)


def lifecycle(answer: str, rate: float, p95: float) -> dict:
    return {"answer": answer, "clients": 8, "lifecycles_per_s": rate, "overall": {"p95_ms": p95}}


def page(name: str, p50: float, p95: float) -> dict:
    return {
        "name": name,
        "p50_ms": 300.0,
        "p95_ms": 400.0,
        "server_p50_ms": p50,
        "server_p95_ms": p95,
    }


def test_targets_judge_each_lifecycle_phase_and_pages_by_server_time():
    report = {
        "load": {
            "lifecycles": [lifecycle("record", 7.5, 233.0), lifecycle("minimal", 21.0, 180.0)],
            "integrity": {"lost": 0, "duplicated": 0},
            "pages": {
                "pages": [
                    page("department queue", 41.0, 52.0),
                    page("inbox", 55.0, 60.0),
                    page("enterprise portal", 130.0, 160.0),  # not a target page
                ]
            },
            "memory": {"workers": []},
        }
    }
    rows = {measure_: verdict for measure_, _target, _got, verdict in measure.targets(report)}
    assert rows["general lifecycles via HTTP (8 clients, whole record answers)"] == "**missed**"
    assert rows["general lifecycles via HTTP (8 clients, Prefer: return=minimal)"] == "met"
    assert rows["department queue: server time, 8 concurrent users over HTTP"] == "met"
    assert rows["inbox: server time, 8 concurrent users over HTTP"] == "**missed**"
    assert not any("portal" in name for name in rows)


def test_a_lost_transition_fails_a_phase_whatever_its_rate():
    report = {
        "load": {
            "lifecycles": [lifecycle("minimal", 25.0, 100.0)],
            "integrity": {"lost": 1, "duplicated": 0},
        }
    }
    [(_name, _target, measured, verdict)] = measure.targets(report)
    assert verdict == "**missed**"
    assert "1 lost" in measured
