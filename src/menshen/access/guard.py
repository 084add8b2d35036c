"""The per-request check (NIST SP 800-207 §3.1, the policy enforcement point).

For every request: route by host and canonical path, find the session from memory,
build an ``AccessRequest``, ask the compiled policy, and either forward with a signed
identity assertion or answer with a redirect, a 401/403, or a step-up. Nothing here does
I/O; everything it reads is a snapshot kept fresh in the background. Any exception on this
path is a denial (the data plane answers 500 and forwards nothing).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

from menshen.access.client_auth import ClientGate, machine_credential
from menshen.access.decision_counts import DecisionCounts
from menshen.access.directory import Directory, Principal, Route
from menshen.access.pages import Pages, problem_json, redirect, wants_html
from menshen.access.passkey_stepup import step_up_need
from menshen.access.returnto import ReturnSigner
from menshen.assertions.mint import AssertionMinter
from menshen.clock import Clock
from menshen.events.model import AuditEvent, Kind, Outcome, SequentialEventIds
from menshen.gateway.contract import Forward, RequestHead, Respond, Verdict
from menshen.policy.compile import CompiledPolicy
from menshen.policy.model import AccessRequest, Decision, Device, Effect
from menshen.sessions.cookies import SESSION_COOKIES, cookie_name, read_cookie
from menshen.sessions.service import SessionService
from menshen.sessions.useragent import user_agent_family
from menshen.store.records import SessionRecord

OWN_PREFIX = "/.menshen/"
MAX_DENIALS_PER_SESSION = 10
MAX_SESSIONS_WITH_DENIALS = 10_000
MAX_GRANTED = 50_000
JWKS_PATH = "/.well-known/menshen/jwks.json"
ASSERTION_HEADER = "x-menshen-assertion"

Publish = Callable[[AuditEvent], None]


class LiveAttributes(Protocol):
    """Attributes that change while a session is open (NIST SP 800-207 §3.3.1, continuous
    evaluation): the subject's risk score from the monitor, the device's trust and posture.
    Both are read on every request from memory; they must not block. ``device`` sees the
    session and the request head (its verified client certificate, see
    ``menshen.access.device_trust``)."""

    def risk(self, tenant_id: str, user_id: str) -> float: ...

    def device(
        self, tenant_id: str, session: SessionRecord, head: RequestHead, now: datetime
    ) -> Device | None: ...


class NoLiveAttributes:
    """Without monitoring or device trust: risk 0, no known device."""

    def risk(self, tenant_id: str, user_id: str) -> float:
        return 0.0

    def device(
        self, tenant_id: str, session: SessionRecord, head: RequestHead, now: datetime
    ) -> Device | None:
        return None


class Containment(Protocol):
    """What automatic response holds against a source or a user (menshen.monitor.response):
    a source address blocked until a time, and users who must verify their second factor
    again (sessions whose last verification is older than ``step_up_since`` are stepped
    up). Read from memory on every request; ``blocking`` is False when nothing is blocked."""

    @property
    def blocking(self) -> bool: ...

    def blocked(self, tenant_id: str, ip: str, now: datetime) -> bool: ...

    def step_up_since(self, tenant_id: str, user_id: str) -> datetime | None: ...


class NoContainment:
    blocking = False

    def blocked(self, tenant_id: str, ip: str, now: datetime) -> bool:
        return False

    def step_up_since(self, tenant_id: str, user_id: str) -> datetime | None:
        return None


BLOCKED_SOURCE = "source address blocked by automatic response"

OwnEndpoints = Callable[[RequestHead], Verdict]


@dataclass(frozen=True, slots=True)
class _Granted:
    """A session's last ``Forward`` and what it was built from (see ``Guard._allow``)."""

    principal: Principal
    route: Route
    groups: tuple[str, ...]
    assertion: str
    forward: Forward


@dataclass(frozen=True, slots=True)
class Denial:
    reference: str
    at: datetime
    app: str
    method: str
    path: str
    reasons: tuple[str, ...]


class Guard:
    def __init__(
        self,
        *,
        sessions: SessionService,
        minters: dict[str, AssertionMinter],
        pages: Pages,
        signer: ReturnSigner,
        publish: Publish,
        clock: Clock,
        own_endpoints: OwnEndpoints,
        audit_backlog: Callable[[], int] = lambda: 0,
        max_audit_backlog: int = 200_000,
        live: LiveAttributes | None = None,
        containment: Containment | None = None,
        clients: ClientGate | None = None,
    ) -> None:
        self._containment = containment or NoContainment()
        self._clients = clients
        self._sessions = sessions
        self._audit_backlog = audit_backlog
        self._live = live or NoLiveAttributes()
        self._max_audit_backlog = max_audit_backlog
        self._minters = minters
        self._pages = pages
        self._signer = signer
        self._publish = publish
        self._clock = clock
        self._own = own_endpoints
        self._directory = Directory.empty()
        self._denials: OrderedDict[str, deque[Denial]] = OrderedDict()
        self._strip = SESSION_COOKIES | {"menshen_csrf", "__Host-menshen_csrf"}
        self._event_ids = SequentialEventIds()
        self._granted: dict[str, _Granted] = {}
        # Requests by outcome, read by the operations metrics (integer increments only).
        self.counts = DecisionCounts()

    # -- state --------------------------------------------------------------------------
    @property
    def max_audit_backlog(self) -> int:
        """Past this many unwritten audit events every request is refused (503)."""
        return self._max_audit_backlog

    @property
    def directory(self) -> Directory:
        return self._directory

    def set_directory(self, directory: Directory) -> None:
        self._directory = directory

    def recent_denials(self, session_id: str) -> list[Denial]:
        return list(self._denials.get(session_id, ()))

    def forget_session(self, record: SessionRecord) -> None:
        self._denials.pop(record.id, None)
        self._granted.pop(record.id, None)

    def _remember_denial(self, session_id: str, denial: Denial) -> None:
        """Keep the last few denials of recently denied sessions (bounded memory)."""
        recent = self._denials.get(session_id)
        if recent is None:
            recent = self._denials[session_id] = deque(maxlen=MAX_DENIALS_PER_SESSION)
            while len(self._denials) > MAX_SESSIONS_WITH_DENIALS:
                self._denials.popitem(last=False)
        else:
            self._denials.move_to_end(session_id)
        recent.append(denial)

    # -- the check ----------------------------------------------------------------------
    def check(self, head: RequestHead) -> Verdict:
        path = head.path
        if self._containment.blocking:
            refused = self._refuse_blocked_source(head)
            if refused is not None:
                return refused
        if path.startswith(OWN_PREFIX) or path == JWKS_PATH or path == OWN_PREFIX[:-1]:
            return self._own(head)
        directory = self._directory
        route = directory.route(head.host, path)
        if route is None:
            return problem_json(404, "Not Found", "No application is served here.")
        if self._audit_backlog() > self._max_audit_backlog:
            # Every decision must be logged; when the audit log cannot keep up, refuse
            # rather than let memory grow without bound or serve unlogged requests.
            self.counts.unavailable += 1
            return problem_json(
                503, "Unavailable", "The audit log is behind; try again shortly.", retry=1
            )
        # Performance: one clock read per request, shared by the session lookup, the
        # policy and the audit event (they describe the same instant).
        now = self._clock.now()
        if self._clients is not None:
            # A machine client (no session cookie; a bearer token or API key): its own path.
            credential = machine_credential(head)
            if credential is not None:
                policy = directory.policy(route.tenant_id)
                verdict = self._clients.check(head, route, credential, policy, now)
                self.counts.count_verdict(verdict)
                return verdict
        session, problem = self.session_for(head, route.tenant_id, now)
        if session is None:
            return self._unauthenticated(head, route, problem, now)
        principal = directory.principal(route.tenant_id, session.user_id)
        if principal is None or principal.disabled:
            return self._unauthenticated(head, route, "account unknown or disabled", now)
        if _owes_second_factor(session, principal):
            return self._step_up(
                head, route, session, principal, "Finish two-step verification.", now=now
            )
        since = self._containment.step_up_since(route.tenant_id, session.user_id)
        if since is not None and (session.mfa_at is None or session.mfa_at < since):
            reason = "Verify it is you: unusual activity was seen on your account."
            return self._step_up(head, route, session, principal, reason, now=now)
        policy = directory.policy(route.tenant_id)
        request = AccessRequest(
            tenant_id=route.tenant_id,
            app=route.app,
            method=head.method,
            path=path,
            source_ip=head.client_ip,
            now=now,
            subject=principal.subject,
            mfa_method=session.mfa_method,
            mfa_at=session.mfa_at,
            headers=_HeaderView(head),
            # Continuous evaluation: read at every request, never cached with the session.
            risk=self._live.risk(route.tenant_id, session.user_id),
            device=self._live.device(route.tenant_id, session, head, now),
        )
        if policy is None:
            decision = Decision(Effect.DENY, None, (f"No policy governs app {route.app!r}.",))
        else:
            decision = policy.decide(request)
        shadow = directory.shadow_policy(route.tenant_id)
        if shadow is not None:
            self._compare_with_candidate(shadow, request, decision, head, route, session, now)
        if decision.effect is Effect.ALLOW:
            return self._allow(head, route, session, principal, decision, now)
        if decision.effect is Effect.STEP_UP:
            reason = decision.reasons[0] if decision.reasons else "Verify again."
            return self._step_up(head, route, session, principal, reason, decision, now)
        return self._deny(head, route, session, principal, decision, now)

    def signed_in(self, tenant_id: str, session: SessionRecord) -> bool:
        """The session belongs to a known, enabled user and owes no second factor."""
        principal = self._directory.principal(tenant_id, session.user_id)
        if principal is None or principal.disabled:
            return False
        return not _owes_second_factor(session, principal)

    def cleared(self, tenant_id: str, session: SessionRecord) -> bool:
        """Signed in, and not held for step-up by automatic response: the user's own pages
        (passkeys, authenticators, devices, sessions) ask for the second factor again before
        anything changes, as the apps do (a stolen session must not enrol its own passkey or
        device while monitoring waits for the real user to verify)."""
        if not self.signed_in(tenant_id, session):
            return False
        since = self._containment.step_up_since(tenant_id, session.user_id)
        return since is None or (session.mfa_at is not None and session.mfa_at >= since)

    def session_for(
        self, head: RequestHead, tenant_id: str, now: datetime | None = None
    ) -> tuple[SessionRecord | None, str]:
        # Performance: the cookie and user-agent fields are found in one pass over the head.
        cookies: list[str] = []
        agent: str | None = None
        for key, value in head.headers:
            if key == "cookie":
                cookies.append(value)
            elif key == "user-agent" and agent is None:
                agent = value
        if not cookies:
            return None, "no session cookie"
        token = read_cookie(cookies, cookie_name(head.scheme))
        if token is None:
            return None, "no valid session cookie"
        found = self._sessions.lookup(tenant_id, token, user_agent_family(agent), now=now)
        return found.session, found.problem or ""

    # -- outcomes -----------------------------------------------------------------------
    def _refuse_blocked_source(self, head: RequestHead) -> Respond | None:
        tenant_id = self._directory.tenant_for_host(head.host)
        now = self._clock.now()
        if tenant_id is None or not self._containment.blocked(tenant_id, head.client_ip, now):
            return None
        self._publish(
            AuditEvent(
                tenant_id=tenant_id,
                kind=Kind.ACCESS_DENY,
                outcome=Outcome.DENY,
                at=now,
                ip=head.client_ip,
                reason=BLOCKED_SOURCE,
                details={"method": head.method, "path": head.path, "host": head.host},
                id=self._event_ids(),
            )
        )
        self.counts.deny += 1
        return problem_json(403, "Forbidden", "Access from this network is not allowed.")

    def _allow(
        self,
        head: RequestHead,
        route: Route,
        session: SessionRecord,
        principal: Principal,
        decision: Decision,
        now: datetime,
    ) -> Verdict:
        minter = self._minters.get(route.tenant_id)
        if minter is None:
            self.counts.unavailable += 1
            return problem_json(503, "Unavailable", "No signing key for this firm.")
        subject = principal.subject
        # Performance: the Forward of a session's previous request is reused while the
        # principal and route snapshots and the (cached) assertion are the very same objects.
        granted = self._granted.get(session.id)
        if granted is not None and (
            granted.principal is not principal or granted.route is not route
        ):
            granted = None
        assertion = minter.mint(
            audience=route.app,
            subject=subject.user_id,
            username=subject.username,
            email=subject.email,
            groups=sorted(subject.groups) if granted is None else granted.groups,
            session_id=session.id,
            mfa_method=session.mfa_method,
            mfa_at=session.mfa_at,
        )
        self._event(head, route, Kind.ACCESS_ALLOW, Outcome.ALLOW, session, decision.rule, now)
        self.counts.allow += 1
        if granted is not None and granted.assertion is assertion:
            return granted.forward
        forward = Forward(
            upstream=route.upstream,
            add_headers=(
                (ASSERTION_HEADER, assertion),
                ("x-menshen-user", subject.username),
                ("x-menshen-email", subject.email),
                ("x-menshen-groups", principal.groups_header),
            ),
            strip_cookies=self._strip,
            session_id=session.id,
            max_body_bytes=route.max_body_bytes,
        )
        if len(self._granted) >= MAX_GRANTED and session.id not in self._granted:
            self._granted.clear()
        groups = tuple(sorted(subject.groups)) if granted is None else granted.groups
        self._granted[session.id] = _Granted(principal, route, groups, assertion, forward)
        return forward

    def _deny(
        self,
        head: RequestHead,
        route: Route,
        session: SessionRecord,
        principal: Principal,
        decision: Decision,
        now: datetime,
    ) -> Respond:
        self.counts.deny += 1
        explanation = _explanation(decision)
        event = self._event(
            head,
            route,
            Kind.ACCESS_DENY,
            Outcome.DENY,
            session,
            "; ".join(decision.reasons),
            now,
            rule_id=decision.rule_id or "",
            considered=list(explanation),
        )
        reasons = decision.reasons or ("No rule allows this request.",)
        denial = Denial(event.id, event.at, route.app, head.method, head.path, reasons)
        self._remember_denial(session.id, denial)
        if not wants_html(head.header("accept")):
            return problem_json(
                403,
                "Forbidden",
                " ".join(reasons),
                reasons=list(reasons),
                considered=list(explanation),
                reference=denial.reference,
                app=route.app,
            )
        return self._pages.render(
            "denied.html",
            tenant_id=route.tenant_id,
            status=403,
            title="Access denied",
            username=principal.subject.username,
            method=head.method,
            path=head.path,
            app=route.title or route.app,
            reasons=reasons,
            considered=explanation,
            reference=denial.reference,
        )

    def _step_up(
        self,
        head: RequestHead,
        route: Route,
        session: SessionRecord,
        principal: Principal,
        reason: str,
        decision: Decision | None = None,
        now: datetime | None = None,
    ) -> Respond:
        self._event(head, route, Kind.ACCESS_STEP_UP, Outcome.STEP_UP, session, reason, now)
        self.counts.step_up += 1
        # Tell the verification page when only a passkey will do (it only shapes the page).
        need = step_up_need(self._directory.policy(route.tenant_id), route.app, decision)
        asks = "" if need is None else f"&need={need}"
        if not wants_html(head.header("accept")) or head.method not in ("GET", "HEAD"):
            return problem_json(
                401,
                "Step-up required",
                reason,
                type_="https://menshen.dev/problems/step-up",
                login=self._login_link(head, "/.menshen/mfa") + asks,
            )
        target = "/.menshen/mfa"
        # A session already at MFA level has a factor (perhaps only a passkey): verify with
        # it again rather than being sent to set up an authenticator app.
        if principal.mfa_required and not principal.mfa_enrolled and session.auth_level != "mfa":
            target = "/.menshen/mfa/enrol"
        return redirect(self._login_link(head, target) + asks)

    def _unauthenticated(
        self, head: RequestHead, route: Route, problem: str, now: datetime | None = None
    ) -> Respond:
        self.counts.unauthenticated += 1
        if problem not in ("no session cookie", ""):
            self._event(head, route, Kind.ACCESS_DENY, Outcome.DENY, None, problem, now)
        if wants_html(head.header("accept")) and head.method in ("GET", "HEAD"):
            return redirect(self._login_link(head, "/.menshen/login"))
        return problem_json(
            401,
            "Unauthorized",
            "Sign in first.",
            login=self._login_link(head, "/.menshen/login"),
        )

    def _login_link(self, head: RequestHead, page: str) -> str:
        target = head.target
        return f"{page}?rd={quote(target, safe='')}&sig={self._signer.sign(target)}"

    def _event(
        self,
        head: RequestHead,
        route: Route,
        kind: str,
        outcome: str,
        session: SessionRecord | None,
        reason: str | None,
        now: datetime | None = None,
        **extra: object,
    ) -> AuditEvent:
        details: dict[str, object] = {"method": head.method, "path": head.path, "host": head.host}
        details.update(extra)
        event = AuditEvent(
            tenant_id=route.tenant_id,
            kind=kind,
            outcome=outcome,
            at=self._clock.now() if now is None else now,
            actor=None if session is None else session.user_id,
            app=route.app,
            ip=head.client_ip,
            session_id=None if session is None else session.id,
            reason=reason,
            details=details,
            id=self._event_ids(),
        )
        self._publish(event)
        return event

    def _compare_with_candidate(
        self,
        candidate: CompiledPolicy,
        request: AccessRequest,
        active: Decision,
        head: RequestHead,
        route: Route,
        session: SessionRecord,
        now: datetime,
    ) -> None:
        """Shadow mode: judge with the candidate too; record disagreements, change nothing."""
        shadow = candidate.decide(request)
        if shadow.effect is active.effect:
            return
        self._event(
            head,
            route,
            Kind.POLICY_SHADOW_DISAGREEMENT,
            active.effect.value,
            session,
            f"active {active.effect.value}, candidate {shadow.effect.value}",
            now,
            active_rule=active.rule or "",
            candidate_effect=shadow.effect.value,
            candidate_rule=shadow.rule or "",
        )


MAX_EXPLAINED_RULES = 20


def _owes_second_factor(session: SessionRecord, principal: Principal) -> bool:
    """A password-only session of a user who must (or can) use a second factor."""
    return session.auth_level != "mfa" and (principal.mfa_required or principal.mfa_enrolled)


def _explanation(decision: Decision) -> tuple[str, ...]:
    """What each considered rule needed that this request lacked, for the deny page and log."""
    return tuple(f"{trace.rule}: {trace.failed}" for trace in decision.considered if trace.failed)[
        :MAX_EXPLAINED_RULES
    ]


class _HeaderView(Mapping[str, str]):
    """The request's headers as a read-only mapping, built only if a rule looks at one."""

    __slots__ = ("_head", "_map")

    def __init__(self, head: RequestHead) -> None:
        self._head = head
        self._map: dict[str, str] | None = None

    def _headers(self) -> dict[str, str]:
        if self._map is None:
            self._map = {}
            for key, value in self._head.headers:
                self._map.setdefault(key, value)
        return self._map

    def __getitem__(self, key: str) -> str:
        return self._headers()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers())

    def __len__(self) -> int:
        return len(self._headers())
