"""Settings of the worker processes the fault tests start and kill: the project's settings with a
short lease, so a killed worker's row is taken back within seconds instead of minutes."""

from __future__ import annotations

from project.settings import *  # noqa: F403

NOTIFICATIONS_LEASE_SECONDS = 3
NOTIFICATIONS_WEBHOOK_TIMEOUT = 60  # the hanging endpoint must outlast the kill, not time out
