"""Run the embedded product: web server, Celery worker and beat as child processes.

``make demo`` calls this after migrating and loading demo data. Ctrl-C (SIGINT) or SIGTERM stops all
three cleanly; if any child dies on its own, the others are stopped and the command fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.ops.demo import DEMO_LOGINS, DEMO_PASSWORD

STOP_GRACE_SECONDS = 20


class Command(BaseCommand):
    help = "启动演示环境：Web 服务、Celery worker 和 beat（Ctrl-C 全部停止）。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        var_dir = settings.VAR_DIR
        var_dir.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        children = {
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "project",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--hostname=demo-worker@%h",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "project",
                "beat",
                "--loglevel=INFO",
                f"--schedule={var_dir / 'celerybeat-schedule'}",
                "--pidfile=",
            ],
        }
        stopping = False

        def request_stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        procs: dict[str, subprocess.Popen[bytes]] = {}
        for name, cmd in children.items():
            # A session of its own: a terminal Ctrl-C reaches only us, and we stop children in order.
            procs[name] = subprocess.Popen(cmd, cwd=settings.BASE_DIR, start_new_session=True)  # noqa: S603
        self._banner(host, port)

        failed = None
        while not stopping and failed is None:
            time.sleep(0.5)
            for name, proc in procs.items():
                if proc.poll() is not None:
                    failed = name
                    break
        self._stop_all(procs)
        if failed is not None:
            raise CommandError(
                f"子进程 {failed} 意外退出（退出码 {procs[failed].returncode}），已停止全部进程。"
            )
        self.stdout.write(self.style.SUCCESS("演示环境已停止。"))

    def _banner(self, host: str, port: int) -> None:
        lines = [
            "",
            "安链 SafeChain 演示环境已启动（Web + Celery worker + beat）",
            f"  网址： http://{host}:{port}/",
            f"  管理后台： http://{host}:{port}/admin/",
            f"  健康检查： http://{host}:{port}/healthz",
            f"  演示账号（密码均为 {DEMO_PASSWORD}）：",
            *[f"    {username:<14} {role}" for username, _name, role in DEMO_LOGINS],
            "  按 Ctrl-C 停止全部进程。",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _stop_all(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, proc in procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} 未在 {STOP_GRACE_SECONDS} 秒内退出，强制结束。")
                proc.kill()
                proc.wait()
