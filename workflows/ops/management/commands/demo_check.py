"""End-to-end check of the embedded demo (``make demo-check``).

Starts ``run_demo`` exactly as ``make demo`` does, waits for /healthz, logs in over HTTP as a demo
user, fetches a page and checks it is Chinese, proves a worker round trip and a beat tick, then stops
everything. Any failure exits non-zero.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.ops.demo import DEMO_LOGINS, DEMO_PASSWORD
from workflows.ops.models import Heartbeat

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Command(BaseCommand):
    help = "启动演示环境并做端到端检查，然后全部停止；任何一步失败都以非零状态退出。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args: Any, port: int, timeout: float, **options: Any) -> None:
        base = f"http://127.0.0.1:{port}"
        demo = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "run_demo", "--port", str(port)],
            cwd=settings.BASE_DIR,
        )
        try:
            self._step("healthz", lambda: self._wait_healthy(base, timeout))
            self._step("login", lambda: self._login_and_fetch(base))
            self._step("worker", lambda: self._worker_round_trip(timeout))
            self._step("reminders", lambda: self._reminders_sent(timeout))
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                code = demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
                raise CommandError("run_demo 未能在 60 秒内停止") from None
        if code != 0:
            raise CommandError(f"run_demo 退出码 {code}")
        self.stdout.write(self.style.SUCCESS("demo-check：全部通过，演示环境已停止。"))

    def _step(self, name: str, fn: Any) -> None:
        self.stdout.write(f"[demo-check] {name} …")
        detail = fn()
        self.stdout.write(self.style.SUCCESS(f"[demo-check] {name}: OK {detail or ''}"))

    def _wait_healthy(self, base: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:  # noqa: S310
                    report = json.load(resp)
                    if resp.status == 200 and report["checks"]["beat"]["ok"]:
                        return f"beat age {report['checks']['beat']['age_seconds']} s"
            except urllib.error.HTTPError as exc:
                last = json.loads(exc.read() or b"{}").get("failing")
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last = repr(exc)
            time.sleep(1)
        raise CommandError(f"/healthz 在 {timeout:.0f} 秒内未变为健康：{last}")

    def _login_and_fetch(self, base: str) -> str:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(f"{base}/accounts/login/", timeout=10) as resp:
            page = resp.read().decode()
        match = CSRF_INPUT.search(page)
        if not match:
            raise CommandError("登录页没有 CSRF 令牌")
        username = DEMO_LOGINS[1][0]
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": match.group(1), "username": username, "password": DEMO_PASSWORD}
        ).encode()
        request = urllib.request.Request(  # noqa: S310
            f"{base}/accounts/login/", data=body, headers={"Referer": f"{base}/accounts/login/"}
        )
        with opener.open(request, timeout=10) as resp:
            landed = resp.geturl()
            html = resp.read().decode()
        if "/accounts/login" in landed:
            raise CommandError(f"以 {username} 登录失败")
        if 'lang="zh-hans"' not in html or "工作台" not in html:
            raise CommandError(f"登录后的页面 {landed} 不是中文界面")
        return f"{username} → {landed}"

    def _reminders_sent(self, timeout: float) -> str:
        """The demo's overdue and near-due hazards are chased by the first sweep after start-up."""
        from workflows.notifications.models import Notification

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = Notification.objects.count()
            if count:
                return f"{count} in-app reminder(s)/escalation(s)"
            time.sleep(1)
        raise CommandError(f"{timeout:.0f} 秒内没有产生任何提醒或督办通知")

    def _worker_round_trip(self, timeout: float) -> str:
        from workflows.ops.tasks import ping

        before = Heartbeat.objects.filter(component=Heartbeat.Component.WORKER).first()
        count_before = before.count if before else 0
        ping.delay()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            after = Heartbeat.objects.filter(component=Heartbeat.Component.WORKER).first()
            if after and after.count > count_before:
                beat = Heartbeat.objects.get(component=Heartbeat.Component.BEAT)
                return f"worker ping answered; beat ticked {beat.count} time(s)"
            time.sleep(0.5)
        raise CommandError(f"worker 在 {timeout:.0f} 秒内没有执行 ping 任务")
