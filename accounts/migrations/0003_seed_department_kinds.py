"""Seed the department kind catalogue (national practice; cities add their own in the admin)."""

from django.db import migrations

KINDS = [
    ("emergency", "应急管理", 10),
    ("housing", "住房和城乡建设", 20),
    ("transport", "交通运输", 30),
    ("market", "市场监督管理", 40),
    ("fire", "消防救援", 50),
    ("energy", "能源", 60),
    ("mine_safety", "矿山安全监察", 70),
    ("water", "水利", 80),
    ("education", "教育", 90),
    ("health", "卫生健康", 100),
    ("culture_tourism", "文化和旅游", 110),
    ("agriculture", "农业农村", 120),
    ("natural_resources", "自然资源", 130),
    ("public_security", "公安", 140),
    ("industry_it", "工业和信息化", 150),
    ("commerce", "商务", 160),
    ("development_reform", "发展和改革", 170),
    ("committee_office", "安委办", 900),
    ("township_gov", "乡镇政府/街道办", 910),
]


def seed(apps, schema_editor):
    kind_model = apps.get_model("accounts", "DepartmentKind")
    for code, name, order in KINDS:
        kind_model.objects.update_or_create(code=code, defaults={"name": name, "sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_organisations")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
