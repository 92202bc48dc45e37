"""Load the demo data (idempotent: running it twice changes nothing)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from workflows.ops.demo import DEMO_LOGINS, DEMO_PASSWORD, LOADERS


class Command(BaseCommand):
    help = "加载演示数据（可重复执行，不会产生重复数据）。"

    def handle(self, *args: Any, **options: Any) -> None:
        for name, loader in LOADERS:
            created = loader()
            self.stdout.write(f"{name}: 新建 {created} 条")
        logins = ", ".join(username for username, _n, _r in DEMO_LOGINS)
        self.stdout.write(self.style.SUCCESS(f"演示账号：{logins}（密码 {DEMO_PASSWORD}）"))
