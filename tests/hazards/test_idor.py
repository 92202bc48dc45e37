"""The IDOR matrix, generated from the URL resolver: every hazard URL × every persona × tenant B's objects.

Every URL pattern under the hazard flow viewset and the hazards app (a route or name containing
"hazard", the admin excepted — it is staff-only and answers with its own login) that takes a path
parameter is filled with the objects of enterprise B's hazard and requested by every persona who must
not see that hazard: GET must answer 404 (a GET-able view may not answer 405 either); a POST-only view
(GET → 405) must answer 404 to POST; a POST to a GET-able view (sent by a few personas) is 404 or 405. Anonymous visitors are sent to
the login page. New URLs are picked up automatically; a new path parameter name must be added to
``ParameterValues.value`` — the test fails loudly until it is.

A control request by B's own inspector must not be a 404, or the parameters were filled wrongly and the
matrix would prove nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from workflows.hazards import services
from workflows.hazards.models import Attachment, Extension, Hazard, HazardTask, Rectification

from .personas import photo

# Everyone who must not see enterprise B's hazard (B is in another county: other chain, other tenant).
FOREIGN_PERSONAS = (
    "inspector",
    "head",
    "colleague",
    "market_staff",
    "city_staff",
    "city_head",
    "committee",
    "principal",
    "safety_manager",
    "outsider",
)
# A POST to a GET-able URL is sent by these (the scope check does not depend on the method; a few
# personas keep the matrix fast while still catching a view that scopes its GET only).
POSTING_PERSONAS = ("colleague", "committee", "principal", "outsider")
PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    path: str  # the route with <converter:name> placeholders, without the leading slash
    name: str  # the namespaced URL name, e.g. "hazard:triage:assign"
    params: tuple[str, ...]

    def context(self) -> str:
        return f"{self.path} {self.name}".lower()


def walk(patterns: list[Any], prefix: str = "", namespaces: tuple[str, ...] = ()) -> list[Route]:
    """Every URL pattern under ``patterns`` (recursively), with its full route and namespaced name."""
    routes: list[Route] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = (pattern.namespace,) if pattern.namespace else ()
            routes += walk(pattern.url_patterns, prefix + _route(pattern), namespaces + namespace)
        elif isinstance(pattern, URLPattern):
            path = prefix + _route(pattern)
            params = tuple(match["name"] for match in PARAM.finditer(path))
            routes.append(Route(path, ":".join((*namespaces, pattern.name or "")), params))
    return routes


def _route(pattern: URLPattern | URLResolver) -> str:
    if isinstance(pattern.pattern, RoutePattern):
        return str(pattern.pattern)
    # A regex pattern: named groups become <name> placeholders (anchors and the rest dropped).
    regex = str(pattern.pattern).lstrip("^").rstrip("$")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", regex).replace("\\", "")


def hazard_routes() -> list[Route]:
    """The URLs the matrix covers: hazard-related, with parameters, not the admin."""
    return [
        route
        for route in walk(get_resolver().url_patterns)
        if "hazard" in route.context()
        and route.params
        and not route.name.startswith("admin:")
        and not route.path.startswith("admin/")
    ]


@dataclass
class ParameterValues:
    """The objects of enterprise B's hazard, by URL parameter name."""

    hazard: Hazard
    tasks: dict[str, HazardTask]
    attachment: Attachment
    extension: Extension
    rectification: Rectification
    unknown: set[str] = field(default_factory=set)

    def value(self, param: str, route: Route) -> Any:
        key = param.lower()
        if key == "process_pk":
            return self.hazard.process_id
        if key == "task_pk":
            node = re.search(r"<int:process_pk>/(\w+)/<int:task_pk>", route.path)
            task = self.tasks.get(node.group(1)) if node else None
            return (task or self.tasks["triage"]).pk
        if key in ("code", "hazard_code"):
            return self.hazard.code
        kind = self._kind(key, param, route)
        objects = {
            "hazard": self.hazard,
            "attachment": self.attachment,
            "extension": self.extension,
            "rectification": self.rectification,
        }
        if kind in objects:
            return objects[kind].pk
        self.unknown.add(f"{param} in {route.path}")
        return 0

    @staticmethod
    def _kind(key: str, param: str, route: Route) -> str:
        """Which object a parameter names: ``extension_pk`` → extension; a bare ``pk`` is named by
        the path segment in front of it (``attachments/<int:pk>`` → attachment), else a hazard."""
        if key not in ("pk", "id"):
            return key.removesuffix("_pk").removesuffix("_id")
        segment = re.search(rf"([\w-]+)/<(?:\w+:)?{param}>", route.path)
        word = segment.group(1).lower().removesuffix("s") if segment else ""
        if word in ("attachment", "extension", "rectification", "hazard"):
            return word
        return "hazard"

    def url(self, route: Route) -> str:
        return "/" + PARAM.sub(lambda m: str(self.value(m["name"], route)), route.path)


@pytest.fixture
def tenant_b(world) -> ParameterValues:
    """Enterprise B's hazard taken to verification, with a photo, an extension and a rectification."""
    hazard = services.hazard_report(
        reporter=world.principal_b,
        enterprise=world.other_enterprise,
        title="乙厂储罐泄漏",
        description="d",
        location="罐区",
        source="self_check",
        before_photos=[photo()],
    )
    services.hazard_triage(hazard=hazard, user=world.other_staff, grade="general")
    hazard.refresh_from_db()
    extension = services.extension_request(
        hazard=hazard,
        user=world.principal_b,
        requested_on=hazard.deadline_on + timedelta(days=7),
        reason="备件未到",
    )
    rectification = services.rectification_submit(
        hazard=hazard,
        user=world.principal_b,
        work_done="已更换",
        after_photos=[photo("after.jpg")],
    )
    hazard.refresh_from_db()
    tasks = {
        task.flow_task.name: task
        for task in HazardTask.objects.filter(process_id=hazard.process_id).order_by("pk")
    }
    return ParameterValues(
        hazard=hazard,
        tasks=tasks,
        attachment=hazard.attachments.order_by("pk").first(),
        extension=extension,
        rectification=rectification,
    )


def test_the_generator_finds_the_flow_and_app_urls():
    names = {route.name for route in hazard_routes()}
    for expected in (
        "hazard:process_detail",
        "hazard:process_chart",
        "hazard:triage:execute",
        "hazard:triage:assign",
        "hazard:triage:unassign",
        "hazard:triage:detail",
        "hazard:verify:execute",
        "hazard:task_assign_to",
    ):
        assert expected in names, expected


def test_no_persona_outside_the_chain_reaches_tenant_b_through_any_url(world, client, tenant_b):
    routes = hazard_routes()
    cases = [(route, tenant_b.url(route)) for route in routes]
    assert not tenant_b.unknown, (
        f"map these URL parameters to tenant B's objects: {tenant_b.unknown}"
    )
    total = len(cases) * (len(FOREIGN_PERSONAS) + 1)
    summary = f"IDOR matrix: {len(cases)} URLs × {len(FOREIGN_PERSONAS)} personas + anonymous"
    print(f"{summary} = {total} cases")  # noqa: T201
    assert len(cases) * len(FOREIGN_PERSONAS) > 20

    failures: list[str] = []

    client.force_login(world.other_staff)  # the control: B's own inspector is not refused with 404
    for route, url in cases:
        status = client.get(url).status_code
        if status == 404:
            failures.append(
                f"control other_staff GET {url} ({route.name}) → 404: parameters wrong?"
            )

    for persona in FOREIGN_PERSONAS:
        client.force_login(getattr(world, persona))
        for route, url in cases:
            got = client.get(url).status_code
            if got == 405:
                posted = client.post(url).status_code
                if posted != 404:
                    failures.append(f"{persona} POST {url} ({route.name}) → {posted}")
            elif got != 404:
                failures.append(f"{persona} GET {url} ({route.name}) → {got}")
            elif persona in POSTING_PERSONAS:
                posted = client.post(url).status_code
                if posted not in (404, 405):
                    failures.append(f"{persona} POST {url} ({route.name}) → {posted}")
        client.logout()

    login_url = resolve_url(settings.LOGIN_URL)
    for route, url in cases:
        response = client.get(url)
        redirected = response.status_code == 302 and response["Location"].startswith(login_url)
        api_refused = url.startswith("/api/") and response.status_code in (401, 403)
        if not (redirected or api_refused):
            failures.append(f"anonymous GET {url} ({route.name}) → {response.status_code}")

    assert not failures, "\n".join(failures)
    tenant_b.hazard.refresh_from_db()
    assert tenant_b.hazard.stage == "verify"
    assert (
        not HazardTask.objects.filter(
            process_id=tenant_b.hazard.process_id, owner__isnull=False, status="ASSIGNED"
        )
        .exclude(owner=world.principal_b)
        .exists()
    )
