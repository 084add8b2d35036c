"""Sending alerts off the request path, with bounded retries; failures are audited.

``Notifications.send`` only queues (never blocks, never raises); a background task posts the
webhooks (httpx) and sends the mail (``smtplib`` in a worker thread, STARTTLS per RFC 3207
when configured). A delivery is tried ``attempts`` times with exponential back-off; its
final outcome is an audit event (``monitor.notify.sent`` / ``monitor.notify.failed``). A
full queue drops the alert with a failure event rather than hold anything up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from menshen.clock import Clock
from menshen.events.model import AuditEvent, Outcome
from menshen.monitor.response.kinds import ACTOR, NOTIFY_FAILED, NOTIFY_SENT
from menshen.monitor.response.messages import (
    Alert,
    email_message,
    slack_body,
    teams_body,
    webhook_request,
)
from menshen.settings import NotifierOptions

__all__ = ["Notifications"]

Publish = Callable[[AuditEvent], None]
Sleep = Callable[[float], Awaitable[None]]
MAX_QUEUED = 1000


@dataclass(frozen=True, slots=True)
class _Job:
    notifier: NotifierOptions
    alert: Alert


class Notifications:
    def __init__(
        self,
        *,
        publish: Publish,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        backoff_seconds: float = 0.5,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self._publish = publish
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff_seconds
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=max_queued)
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0

    def send(self, notifier: NotifierOptions, alert: Alert) -> None:
        """Queue ``alert`` for ``notifier``; returns at once."""
        try:
            self._queue.put_nowait(_Job(notifier, alert))
        except asyncio.QueueFull:
            self._outcome(_Job(notifier, alert), False, "queue full: alert dropped", 0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="notify")

    async def drain(self) -> None:
        """Wait until every queued alert has been delivered or given up."""
        await self._queue.join()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._deliver(job)
            finally:
                self._queue.task_done()

    async def _deliver(self, job: _Job) -> None:
        attempts = max(job.notifier.attempts, 1)
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                await self._attempt(job)
            except Exception as error:  # any failure is retried, then audited
                problem = f"{type(error).__name__}: {error}"[:300]
                if attempt < attempts:
                    await self._sleep(self._backoff * 2 ** (attempt - 1))
                continue
            self._outcome(job, True, "delivered", attempt)
            return
        self._outcome(job, False, problem, attempts)

    async def _attempt(self, job: _Job) -> None:
        notifier, alert = job.notifier, job.alert
        if notifier.kind == "email":
            await asyncio.to_thread(_send_mail, notifier, alert)
            return
        if notifier.kind == "webhook":
            stamp = int(self._clock.now().timestamp())
            body, headers = webhook_request(alert, notifier.secret, stamp)
        else:
            shape = slack_body(alert) if notifier.kind == "slack" else teams_body(alert)
            body = json.dumps(shape).encode()
            headers = {"Content-Type": "application/json"}
        async with httpx.AsyncClient(timeout=notifier.timeout_seconds) as client:
            response = await client.post(notifier.url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise OSError(f"HTTP {response.status_code}")

    def _outcome(self, job: _Job, ok: bool, detail: str, attempts: int) -> None:
        if ok:
            self.sent += 1
        else:
            self.failed += 1
        alert = job.alert
        self._publish(
            AuditEvent(
                tenant_id=alert.tenant_id,
                kind=NOTIFY_SENT if ok else NOTIFY_FAILED,
                outcome=Outcome.SUCCESS if ok else Outcome.FAILURE,
                at=self._clock.now(),
                actor=ACTOR,
                subject=alert.subject,
                reason=detail,
                details={
                    "notifier": job.notifier.name,
                    "kind": job.notifier.kind,
                    "playbook": alert.playbook,
                    "attempts": attempts,
                    "incident": alert.incident_id or "",
                },
            )
        )


def _send_mail(notifier: NotifierOptions, alert: Alert) -> None:
    """Blocking SMTP submission (runs in a worker thread)."""
    message = email_message(alert, notifier.sender, notifier.recipients)
    with smtplib.SMTP(
        notifier.smtp_host, notifier.smtp_port, timeout=notifier.timeout_seconds
    ) as smtp:
        if notifier.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if notifier.username:
            smtp.login(notifier.username, notifier.password)
        smtp.send_message(message)
