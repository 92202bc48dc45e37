"""factory-boy factories, in one place for the whole suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

DEFAULT_PASSWORD = "Test-Passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:04d}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    mobile = factory.Sequence(lambda n: f"138{n:08d}")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


# --- Organisations and the duty map --------------------------------------------------------------

from datetime import date  # noqa: E402

from accounts.models import Department, DepartmentKind, Enterprise, Membership, Region  # noqa: E402
from accounts.uscc import uscc_check_character  # noqa: E402
from workflows.responsibility.models import Duty, EnterpriseIndustry, Industry, Post  # noqa: E402


def make_uscc(n: int) -> str:
    """A valid fictional USCC (91 = enterprise, 141000 = 临汾) whose serial part encodes ``n``."""
    first17 = f"91141000{n:09d}"
    return first17 + uscc_check_character(first17)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "141000"
    name = "临汾市"
    level = Region.Level.CITY
    parent = None


def city(code: str = "141000", name: str = "临汾市") -> Region:
    return RegionFactory(code=code, name=name, level=Region.Level.CITY, parent=None)


def county(code: str = "141002", name: str = "尧都区", parent: Region | None = None) -> Region:
    return RegionFactory(code=code, name=name, level=Region.Level.COUNTY, parent=parent or city())


def township(
    code: str = "141002001", name: str = "解放路街道", parent: Region | None = None
) -> Region:
    return RegionFactory(
        code=code, name=name, level=Region.Level.TOWNSHIP, parent=parent or county(), fictional=True
    )


def kind(code: str) -> DepartmentKind:
    """A seeded department kind (the data migration provides the catalogue)."""
    return DepartmentKind.objects.get(code=code)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    region = factory.LazyFunction(county)
    kind = factory.LazyFunction(lambda: kind("emergency"))
    code = factory.LazyAttribute(lambda o: f"{o.region.code}-{o.kind.code}")
    name = factory.LazyAttribute(lambda o: f"{o.region.name}{o.kind.name}局")


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise
        django_get_or_create = ("uscc",)

    uscc = factory.Sequence(make_uscc)
    name = factory.Sequence(lambda n: f"临汾测试企业{n}有限公司")
    region = factory.LazyFunction(township)
    address = "临汾市尧都区测试路1号"
    principal = factory.SubFactory(UserFactory)


def industry(code: str) -> Industry:
    """A seeded industry (the data migration provides the tree)."""
    return Industry.objects.get(code=code)


def link_industries(enterprise: Enterprise, *codes: str) -> None:
    for position, code in enumerate(codes):
        EnterpriseIndustry.objects.create(
            enterprise=enterprise, industry=industry(code), position=position
        )


class DutyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Duty

    industry = factory.LazyFunction(lambda: industry("hazchem"))
    department_kind = factory.LazyFunction(lambda: kind("emergency"))
    role = Duty.Role.LEAD
    general_level = "county"
    major_level = "city"
    valid_from = date(2024, 1, 1)
    valid_to = None
    decision = "临安委〔2024〕5号"
    position = 0


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    enterprise = factory.SubFactory(EnterpriseFactory)
    code = factory.Sequence(lambda n: f"P{n:03d}")
    title = "安全管理岗"
    holder = factory.SubFactory(UserFactory)
    duties = "负责本岗位隐患排查治理。"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    department = None
    enterprise = None
    role = Membership.Role.STAFF


SEED_MIGRATIONS = (
    "accounts.migrations.0003_seed_department_kinds",
    "workflows.responsibility.migrations.0002_seed_industries",
    "workflows.deadlines.migrations.0002_seed_calendar",
    "workflows.deadlines.migrations.0003_seed_policies",
)


def ensure_seeded() -> None:
    """Re-run the (idempotent) seed migrations: a transactional test after a live-server test may
    find the catalogues flushed, because the live server replaced the connection that held their
    serialized copy."""
    from importlib import import_module

    from django.apps import apps

    from accounts.models import DepartmentKind

    if DepartmentKind.objects.exists():
        return
    for module in SEED_MIGRATIONS:
        import_module(module).seed(apps, None)
