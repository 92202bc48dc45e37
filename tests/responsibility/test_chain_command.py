"""``manage.py chain``: parse, resolve, print; every bad input is a CommandError with a message."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from tests.factories import DutyFactory, PostFactory, UserFactory, industry, kind, make_uscc
from tests.responsibility.test_chain import CityMap, build_city
from workflows.responsibility.chain import resolve_chain
from workflows.responsibility.management.commands.chain import Command
from workflows.responsibility.models import Duty
from workflows.responsibility.services import duty_replace

ON = "2025-06-15"


@pytest.fixture
def cm(db) -> CityMap:
    return build_city()


def chain(*args: str) -> str:
    out = StringIO()
    call_command("chain", *args, stdout=out)
    return out.getvalue()


def chain_json(*args: str) -> dict:
    return json.loads(chain(*args))


def test_json_is_the_resolved_chain(cm):
    data = chain_json("--enterprise", cm.enterprise.uscc, "--on", ON)
    assert data == json.loads(
        json.dumps(resolve_chain(enterprise=cm.enterprise, on=date.fromisoformat(ON)).as_dict())
    )
    assert [(link["role"], link["org_code"]) for link in data["links"]][1:3] == [
        ("lead", "141002-emergency"),
        ("cooperating", "141002-market"),
    ]


def test_json_is_printed_readably_with_chinese_as_is(cm):
    output = chain("--enterprise", cm.enterprise.uscc, "--on", ON, "--format", "json")
    assert cm.enterprise.name in output  # ensure_ascii=False
    assert "\\u" not in output
    assert output.startswith('{\n  "enterprise": {\n    "uscc"')  # indent=2


def test_the_uscc_is_normalised(cm):
    typed = " ".join([cm.enterprise.uscc[:9].lower(), cm.enterprise.uscc[9:].lower()])
    data = chain_json("--enterprise", typed, "--on", ON)
    assert data["enterprise"]["uscc"] == cm.enterprise.uscc


def test_grade_industry_and_post_are_passed_through(cm):
    post = PostFactory(enterprise=cm.enterprise, code="WS-01", holder=UserFactory(username="li"))
    DutyFactory(industry=industry("construction"), department_kind=kind("housing"))
    data = chain_json(
        "--enterprise",
        cm.enterprise.uscc,
        "--industry",
        "construction",
        "--grade",
        "major",
        "--post",
        post.code,
        "--on",
        ON,
    )
    assert (data["industry"], data["grade"]) == ("construction", "major")
    assert [(link["role"], link["org_code"], link["person"]) for link in data["links"][:3]] == [
        ("post", cm.enterprise.uscc, "li"),
        ("principal", cm.enterprise.uscc, "boss"),
        ("lead", "141000-housing", None),
    ]


def test_on_in_the_past_explains_the_old_chain(cm):
    duty_replace(duty=cm.lead, changed_on=date(2025, 1, 1), department_kind=kind("housing"))
    old = chain_json("--enterprise", cm.enterprise.uscc, "--on", "2024-12-31")
    new = chain_json("--enterprise", cm.enterprise.uscc, "--on", "2025-01-01")
    assert old["links"][1]["org_code"] == "141002-emergency"
    assert old["links"][1]["rule"]["valid_to"] == "2024-12-31"
    assert new["links"][1]["org_code"] == "141002-housing"
    assert new["links"][1]["rule"]["valid_from"] == "2025-01-01"


def test_the_default_industry_is_the_primary_one(cm):
    assert chain_json("--enterprise", cm.enterprise.uscc, "--on", ON)["industry"] == "hazchem"


def test_a_blind_spot_is_reported(cm):
    bare = type(cm.enterprise).objects.create(
        uscc=make_uscc(990001), name="无行业企业", region=cm.jiefang
    )
    data = chain_json("--enterprise", bare.uscc, "--on", ON)
    assert data["blind_spot"] is True
    assert data["industry"] is None
    assert [(link["role"], link["org_code"], link["rule"]) for link in data["links"][1:2]] == [
        ("lead", "141002-committee_office", None)
    ]


def test_text_prints_a_header_and_one_line_per_link(cm):
    output = chain("--enterprise", cm.enterprise.uscc, "--on", ON, "--format", "text")
    lines = output.strip().splitlines()
    expected = resolve_chain(enterprise=cm.enterprise, on=date.fromisoformat(ON))
    assert len(lines) == 1 + len(expected.links)
    for number, (line, link) in enumerate(zip(lines[1:], expected.links, strict=True), start=1):
        assert line.startswith(f"{number}. ")
        assert f"({link.org_code})" in line


def test_without_on_the_chain_is_for_today(cm):
    data = chain_json("--enterprise", cm.enterprise.uscc)
    assert data["on"] == timezone.localdate().isoformat()


# --- Bad input ----------------------------------------------------------------------------------


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        chain(*args)
    return str(caught.value)


def test_an_unknown_uscc_is_refused(cm):
    unknown = make_uscc(777777)
    assert unknown in refused("--enterprise", unknown)


def test_a_malformed_uscc_is_refused_with_the_validation_message(cm):
    wrong_check = cm.enterprise.uscc[:17] + ("0" if cm.enterprise.uscc[17] != "0" else "1")
    with translation.override("en"):
        assert "check character" in refused("--enterprise", wrong_check)
        assert "18 characters" in refused("--enterprise", "91141000")


def test_an_unknown_industry_is_refused(cm):
    assert "no_such_industry" in refused(
        "--enterprise", cm.enterprise.uscc, "--industry", "no_such_industry"
    )


def test_an_unknown_post_is_refused(cm):
    assert "NOPE" in refused("--enterprise", cm.enterprise.uscc, "--post", "NOPE")


def test_a_post_of_another_enterprise_is_not_found_here(cm):
    PostFactory(enterprise=cm.in_yaodu, code="ELSEWHERE")
    assert "ELSEWHERE" in refused("--enterprise", cm.enterprise.uscc, "--post", "ELSEWHERE")


@pytest.mark.parametrize("value", ["2025-13-01", "2025/06/15", "20250615", "yesterday", ""])
def test_a_bad_date_is_refused(cm, value):
    message = refused("--enterprise", cm.enterprise.uscc, "--on", value)
    assert "YYYY-MM-DD" in message


@pytest.mark.parametrize("grade", ["serious", "MAJOR", ""])
def test_a_bad_grade_is_refused(cm, grade):
    message = refused("--enterprise", cm.enterprise.uscc, "--grade", grade, "--on", ON)
    assert "general" in message
    assert "major" in message


def test_a_bad_format_is_refused(cm):
    assert "xml" in refused("--enterprise", cm.enterprise.uscc, "--format", "xml")


def test_the_enterprise_is_required(cm):
    with pytest.raises(CommandError):
        chain("--on", ON)


def test_from_the_command_line_bad_input_exits_non_zero_without_a_traceback(cm, capsys):
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(
            ["manage.py", "chain", "--enterprise", make_uscc(777777), "--skip-checks"]
        )
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert make_uscc(777777) in err
    assert "Traceback" not in err


def test_duty_rows_are_read_only_here(cm):
    before = list(Duty.objects.values_list("pk", "valid_to"))
    chain("--enterprise", cm.enterprise.uscc, "--on", ON, "--format", "text")
    assert list(Duty.objects.values_list("pk", "valid_to")) == before
