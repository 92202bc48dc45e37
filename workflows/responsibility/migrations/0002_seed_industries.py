"""Seed the work-safety industry tree (codes are ours; names follow national usage)."""

from django.db import migrations

# (code, name, parent code)
INDUSTRIES = [
    ("coal", "煤矿", None),
    ("non_coal_mine", "非煤矿山", None),
    ("hazchem", "危险化学品", None),
    ("coking", "焦化", "hazchem"),
    ("fireworks", "烟花爆竹", None),
    ("industry_trade", "工贸", None),
    ("metallurgy", "冶金", "industry_trade"),
    ("nonferrous", "有色", "industry_trade"),
    ("building_materials", "建材", "industry_trade"),
    ("machinery", "机械", "industry_trade"),
    ("light_industry", "轻工", "industry_trade"),
    ("textile", "纺织", "industry_trade"),
    ("tobacco", "烟草", "industry_trade"),
    ("commerce_trade", "商贸", "industry_trade"),
    ("construction", "建筑施工", None),
    ("urban_gas", "城镇燃气", None),
    ("road_transport", "道路运输", None),
    ("special_equipment", "特种设备", None),
    ("fire_key_units", "消防重点单位", None),
    ("water_conservancy", "水利", None),
    ("electric_power", "电力", None),
    ("scenic_spots", "旅游景区", None),
    ("schools", "学校", None),
    ("medical", "医疗机构", None),
    ("emerging", "新兴行业", None),
    ("energy_storage", "储能电站", "emerging"),
    ("script_entertainment", "剧本娱乐", "emerging"),
    ("ebike_charging", "电动自行车充电", "emerging"),
]


def seed(apps, schema_editor):
    industry_model = apps.get_model("responsibility", "Industry")
    for order, (code, name, parent_code) in enumerate(INDUSTRIES, start=1):
        parent = industry_model.objects.get(code=parent_code) if parent_code else None
        industry_model.objects.update_or_create(
            code=code, defaults={"name": name, "parent": parent, "sort_order": order * 10}
        )


class Migration(migrations.Migration):
    dependencies = [("responsibility", "0001_duty_map")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
