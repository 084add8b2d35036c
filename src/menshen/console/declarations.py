"""Declaring a control from the console: handled outside menshen, shown as declared, never
as measured (ISO/IEC 27001:2022 §7.5 documented information; menshen issue 7).

Two forms on ``/compliance/controls/{id}``, the same rules as ``menshen compliance
declare | undeclare`` (``cli/compliance_declare``) and the same service
(``ComplianceService.declare`` / ``withdraw``, which store and audit
``compliance.declared`` / ``compliance.declaration_withdrawn``), with ``console:USERNAME`` as
author and actor:

* ``POST /compliance/declare/{id}``: ``multipart/form-data`` (RFC 7578) because it may carry
  the attachment. The body is read with a hard bound (the store's 5 MiB for the file plus
  room for the fields), then parsed in memory (``multipart``); only then is the CSRF token
  in it checked (``forms.FormGuard``, bound to this path), after the same-origin check that
  comes first. Outcome ``pass | partial | not_applicable``, a justification (at most 10,000
  characters), an optional file and an optional expiry date (YYYY-MM-DD, lapsing at 00:00
  UTC).
* ``POST /compliance/undeclare/{id}``: a plain form (``forms.posted``).

Anything refused changes nothing: 403 for a forged or foreign form, 404 for an unknown
control (or no declaration to withdraw), 413 for a body over the bound, 400 for the rest.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from menshen.clock import Clock
from menshen.compliance.model import Lang, Outcome
from menshen.console.access import Admitted
from menshen.console.compliance_desk import ComplianceDesk, DeclarationBook
from menshen.console.forms import FormGuard, posted, same_origin
from menshen.console.incidents import actor_of
from menshen.console.multipart import (
    FilePart,
    FormData,
    Limits,
    TooLarge,
    boundary_of,
    parse,
    read_bounded,
)
from menshen.console.pages import Pages
from menshen.errors import InvalidInput, MenshenError
from menshen.store.compliance import MAX_ATTACHMENT_BYTES, MAX_JUSTIFICATION_CHARS

__all__ = ["DECLARABLE", "MAX_DECLARE_BODY", "DeclarationForms"]

_log = logging.getLogger("menshen.console")

DECLARABLE = (Outcome.PASS, Outcome.PARTIAL, Outcome.NOT_APPLICABLE)
"""What a firm may declare (as the CLI: never ``not_assessed``; a failure is measured)."""
FIELD_BYTES = 4 * MAX_JUSTIFICATION_CHARS + 1024  # 10,000 characters of UTF-8, at worst
MAX_DECLARE_BODY = MAX_ATTACHMENT_BYTES + 2 * FIELD_BYTES
LIMITS = Limits(parts=8, field_bytes=FIELD_BYTES, file_bytes=MAX_ATTACHMENT_BYTES)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
Handler = Callable[[Request, Admitted], Awaitable[Response]]
Guard = Callable[[Handler], Callable[[Request], Awaitable[Response]]]


class _Refusal(Exception):
    """Internal: a form refused, with its HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class DeclarationForms:
    def __init__(self, pages: Pages, desk: ComplianceDesk, forms: FormGuard, clock: Clock) -> None:
        self._pages = pages
        self._clock = clock
        self._desk = desk
        self._forms = forms
        self._base = f"{pages.prefix}/compliance"

    def routes(self, guarded: Guard) -> list[Route]:
        if self._desk.declarations is None:
            return []
        return [
            Route(f"{self._base}/declare/{{control_id:path}}", guarded(self.declare),
                  methods=["POST"]),
            Route(f"{self._base}/undeclare/{{control_id:path}}", guarded(self.undeclare),
                  methods=["POST"]),
        ]  # fmt: skip

    async def context(self, user: Admitted, control_id: str) -> dict[str, Any]:
        """What ``compliance_control.html`` needs for the two forms (empty: no forms)."""
        book = self._desk.declarations
        if book is None:
            return {}
        current = await run_in_threadpool(book.declarations, self._desk.tenant_id)
        declare, undeclare = self._path("declare", control_id), self._path("undeclare", control_id)
        found = current.get(control_id)
        expiry = None if found is None else found.expires_at
        return {
            "declare": {
                "action": quote(declare),
                "csrf": self._forms.token(user, declare),
                "outcomes": [item.value for item in DECLARABLE],
                "max_mib": MAX_ATTACHMENT_BYTES // (1024 * 1024),
                "max_chars": MAX_JUSTIFICATION_CHARS,
                "current": found,
                "lapsed": expiry is not None and expiry <= self._clock.now(),
                "undeclare_action": quote(undeclare),
                "undeclare_csrf": self._forms.token(user, undeclare),
            }
        }

    # -- forms ------------------------------------------------------------------------
    async def declare(self, request: Request, user: Admitted) -> Response:
        control_id = request.path_params["control_id"]
        try:
            form = await self._multipart(request, user)
            book = self._book_for(control_id)
            outcome, justification, expires_at = _fields(form.fields)
            attachment = _attachment(form.files)
        except _Refusal as refused:
            return self._problem(user, refused.status, refused.message)
        try:
            made = await asyncio.to_thread(
                book.declare,
                self._desk.tenant_id,
                control_id,
                outcome=outcome,
                justification=justification,
                by=actor_of(user),
                attachment=attachment,
                expires_at=expires_at,
            )
        except InvalidInput as exc:
            return self._problem(user, 400, f"Nothing was declared: {exc}")
        except MenshenError as exc:
            _log.error("console could not declare %s: %s", control_id, exc)
            return self._problem(user, 500, f"Nothing was declared: {exc}")
        _log.info("control %s declared %s by %s", control_id, made.outcome.value, made.by)
        return self._back(control_id, form.fields)

    async def undeclare(self, request: Request, user: Admitted) -> Response:
        control_id = request.path_params["control_id"]
        fields = await posted(request, user, self._forms)
        if isinstance(fields, str):
            return self._forged(request, user, fields)
        try:
            book = self._book_for(control_id)
        except _Refusal as refused:
            return self._problem(user, refused.status, refused.message)
        try:
            done = await asyncio.to_thread(
                book.withdraw, self._desk.tenant_id, control_id, by=actor_of(user)
            )
        except MenshenError as exc:
            _log.error("console could not withdraw %s: %s", control_id, exc)
            return self._problem(user, 500, f"Nothing was withdrawn: {exc}")
        if not done:
            return self._problem(user, 404, f"{control_id[:120]!r} has no declaration.")
        _log.info("declaration of %s withdrawn by %s", control_id, actor_of(user))
        return self._back(control_id, fields)

    # -- helpers ----------------------------------------------------------------------
    async def _multipart(self, request: Request, user: Admitted) -> FormData:
        why = same_origin(request.headers, request.url.scheme)
        if why is not None:
            raise self._forged_refusal(request, user, why)
        boundary = boundary_of(request.headers.get("content-type", ""))
        if boundary is None:
            raise self._forged_refusal(request, user, "the body is not multipart/form-data")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_DECLARE_BODY:
            raise _Refusal(413, self._too_large())
        try:
            form = parse(await read_bounded(request.stream(), MAX_DECLARE_BODY), boundary, LIMITS)
        except TooLarge:
            raise _Refusal(413, self._too_large()) from None
        except InvalidInput as exc:
            raise self._forged_refusal(request, user, f"unreadable multipart body: {exc}") from None
        if not self._forms.check(user, request.url.path, form.fields.get("csrf")):
            raise self._forged_refusal(request, user, "missing or wrong form token")
        return form

    def _book_for(self, control_id: str) -> DeclarationBook:
        book = self._desk.declarations
        known = any(f.control(control_id) for f in self._desk.catalog.frameworks.values())
        if book is None or not known:
            raise _Refusal(404, f"There is no control {control_id[:120]!r} in the catalog.")
        return book

    def _path(self, verb: str, control_id: str) -> str:
        return f"{self._base}/{verb}/{control_id}"

    def _too_large(self) -> str:
        mib = MAX_ATTACHMENT_BYTES // (1024 * 1024)
        return f"The attachment is larger than {mib} MiB. Nothing was declared."

    def _back(self, control_id: str, fields: Mapping[str, str]) -> Response:
        lang = fields.get("lang", "")
        query = urlencode({"lang": lang}) if lang in {item.value for item in Lang} else ""
        target = quote(f"{self._base}/controls/{control_id}")
        return RedirectResponse(f"{target}?{query}" if query else target, status_code=303)

    def _forged_refusal(self, request: Request, user: Admitted, why: str) -> _Refusal:
        _log.warning("console refused POST %s from %s: %s", request.url.path, user.subject, why)
        return _Refusal(
            403,
            "This form did not come from the console or has expired: reload the control's "
            "page and try again. Nothing was changed.",
        )

    def _forged(self, request: Request, user: Admitted, why: str) -> Response:
        refused = self._forged_refusal(request, user, why)
        return self._problem(user, refused.status, refused.message)

    def _problem(self, user: Admitted, status: int, message: str) -> Response:
        return self._pages.problem(status, message, user=user, back=self._base,
                                   label="Compliance")  # fmt: skip


def _fields(fields: Mapping[str, str]) -> tuple[Outcome, str, datetime | None]:
    """The outcome, justification and expiry of a declare form, checked as the CLI does."""
    try:
        outcome = Outcome(fields.get("outcome", ""))
    except ValueError:
        outcome = Outcome.NOT_ASSESSED
    if outcome not in DECLARABLE:
        raise _Refusal(
            400, "Choose an outcome: pass, partial or not applicable. Nothing was declared."
        )
    justification = fields.get("justification", "")
    if not justification.strip():
        raise _Refusal(400, "A declaration needs a justification. Nothing was declared.")
    if len(justification) > MAX_JUSTIFICATION_CHARS:
        raise _Refusal(
            400,
            f"The justification is longer than {MAX_JUSTIFICATION_CHARS} characters. "
            "Nothing was declared.",
        )
    text = fields.get("expires", "").strip()
    if not text:
        return outcome, justification, None
    try:
        if _DAY.fullmatch(text) is None:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise _Refusal(
            400, "Give the expiry as a date, YYYY-MM-DD. Nothing was declared."
        ) from None
    return outcome, justification, datetime.combine(day, time(0, 0), tzinfo=UTC)


def _attachment(files: Mapping[str, FilePart]) -> tuple[str, bytes] | None:
    """The attached file as (name, bytes): None when no file was chosen."""
    if set(files) - {"attachment"}:
        raise _Refusal(400, "Only one file, the attachment, can be sent. Nothing was declared.")
    part = files.get("attachment")
    if part is None or (not part.filename and not part.body):
        return None
    name = re.split(r"[/\\]", part.filename)[-1]  # some browsers send the whole path
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip() or "attachment"
    if len(name) > 255:
        raise _Refusal(
            400, "The attachment's file name is longer than 255 characters. Nothing was declared."
        )
    return name, part.body
