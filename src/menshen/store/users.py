"""Users, groups and memberships of one tenant (NIST SP 800-207 §2.1: subjects and roles)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, func, insert, select, update

from menshen.errors import NotFound
from menshen.store.records import GroupRecord, UserRecord
from menshen.store.schema import groups, memberships, users
from menshen.store.scoped import Scope, insert_ignore, record_of

_USER_MUTABLE = ("username", "email", "display_name", "password_hash", "disabled", "updated_at")


class SqlUserRepository:
    """``UserRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, user: UserRecord) -> None:
        row = self._scope.row(user)
        with self._scope.changing() as conn:
            conn.execute(insert(users).values(row))

    def get(self, user_id: str) -> UserRecord | None:
        return self._one(users.c.id == user_id)

    def by_username(self, username: str) -> UserRecord | None:
        return self._one(users.c.username == username)

    def list(self) -> Sequence[UserRecord]:
        query = select(users).where(self._scope.where(users)).order_by(users.c.username)
        with self._scope.db.read() as conn:
            return [record_of(UserRecord, row) for row in conn.execute(query)]

    def update(self, user: UserRecord) -> None:
        row = self._scope.row(user)
        stmt = (
            update(users)
            .where(self._scope.where(users), users.c.id == user.id)
            .values({name: row[name] for name in _USER_MUTABLE})
        )
        with self._scope.changing() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(f"no user {user.id!r}")

    def groups_of(self, user_id: str) -> Sequence[GroupRecord]:
        query = (
            select(groups)
            .join(
                memberships,
                (memberships.c.tenant_id == groups.c.tenant_id)
                & (memberships.c.group_id == groups.c.id),
            )
            .where(self._scope.where(groups), memberships.c.user_id == user_id)
            .order_by(groups.c.name)
        )
        with self._scope.db.read() as conn:
            return [record_of(GroupRecord, row) for row in conn.execute(query)]

    def _one(self, condition: ColumnElement[bool]) -> UserRecord | None:
        query = select(users).where(self._scope.where(users), condition)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(UserRecord, row)


class SqlGroupRepository:
    """``GroupRepository`` on SQL; deleting a group removes its memberships."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, group: GroupRecord) -> None:
        row = self._scope.row(group)
        with self._scope.changing() as conn:
            conn.execute(insert(groups).values(row))

    def get(self, group_id: str) -> GroupRecord | None:
        query = select(groups).where(self._scope.where(groups), groups.c.id == group_id)
        return self._first(query)

    def by_name(self, name: str) -> GroupRecord | None:
        query = select(groups).where(self._scope.where(groups), groups.c.name == name)
        return self._first(query)

    def list(self) -> Sequence[GroupRecord]:
        query = select(groups).where(self._scope.where(groups)).order_by(groups.c.name)
        with self._scope.db.read() as conn:
            return [record_of(GroupRecord, row) for row in conn.execute(query)]

    def update(self, group: GroupRecord) -> None:
        row = self._scope.row(group)
        stmt = (
            update(groups)
            .where(self._scope.where(groups), groups.c.id == group.id)
            .values(
                name=row["name"], description=row["description"], mfa_required=row["mfa_required"]
            )
        )
        with self._scope.changing() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(f"no group {group.id!r}")

    def delete(self, group_id: str) -> None:
        """Delete the group and its memberships; NotFound if there is no such group."""
        with self._scope.changing() as conn:
            conn.execute(
                delete(memberships).where(
                    self._scope.where(memberships), memberships.c.group_id == group_id
                )
            )
            stmt = delete(groups).where(self._scope.where(groups), groups.c.id == group_id)
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(f"no group {group_id!r}")

    def add_member(self, group_id: str, user_id: str) -> None:
        """Add ``user_id`` to the group (idempotent); NotFound if either is unknown here."""
        with self._scope.changing() as conn:
            self._require(conn, group_id, user_id)
            values = {"tenant_id": self._scope.tenant_id, "group_id": group_id, "user_id": user_id}
            insert_ignore(conn, memberships, values, ["tenant_id", "group_id", "user_id"])

    def remove_member(self, group_id: str, user_id: str) -> None:
        """Remove ``user_id`` from the group; nothing happens if it was not a member."""
        stmt = delete(memberships).where(
            self._scope.where(memberships),
            memberships.c.group_id == group_id,
            memberships.c.user_id == user_id,
        )
        with self._scope.changing() as conn:
            conn.execute(stmt)

    def members(self, group_id: str) -> Sequence[UserRecord]:
        query = (
            select(users)
            .join(
                memberships,
                (memberships.c.tenant_id == users.c.tenant_id)
                & (memberships.c.user_id == users.c.id),
            )
            .where(self._scope.where(users), memberships.c.group_id == group_id)
            .order_by(users.c.username)
        )
        with self._scope.db.read() as conn:
            return [record_of(UserRecord, row) for row in conn.execute(query)]

    def _require(self, conn: Connection, group_id: str, user_id: str) -> None:
        found_group = conn.execute(
            select(func.count())
            .select_from(groups)
            .where(self._scope.where(groups), groups.c.id == group_id)
        ).scalar_one()
        if not found_group:
            raise NotFound(f"no group {group_id!r}")
        found_user = conn.execute(
            select(func.count())
            .select_from(users)
            .where(self._scope.where(users), users.c.id == user_id)
        ).scalar_one()
        if not found_user:
            raise NotFound(f"no user {user_id!r}")

    def _first(self, query: Select[Any]) -> GroupRecord | None:
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(GroupRecord, row)
