"""Tokens (admins) and the whole audit log."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from genesis_pipeline.api.cache import tokens_for
from genesis_pipeline.api.deps import Admin, StoreDep
from genesis_pipeline.api.problems import responses
from genesis_pipeline.services import access
from genesis_pipeline.store.records import AuditEntry, TokenRecord

router = APIRouter(tags=["access"], responses=responses(401, 403, 404, 422))


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=["ingest-bot"])
    role: str = Field(examples=["reviewer"], description="viewer | reviewer | admin")


class TokenCreated(BaseModel):
    token: TokenRecord
    secret: str = Field(description="shown this once; only its hash is stored")


@router.get("/tokens", response_model=list[TokenRecord], summary="Every token")
def tokens(store: StoreDep, _: Admin) -> list[TokenRecord]:
    return access.list_tokens(store)


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a token",
)
def create(body: TokenCreate, store: StoreDep, actor: Admin) -> TokenCreated:
    made = access.create_token(store, body.name, body.role, actor=actor)
    return TokenCreated(token=made.token, secret=made.secret)


@router.delete("/tokens/{name}", response_model=TokenRecord, summary="Revoke a token")
def revoke(name: str, store: StoreDep, actor: Admin) -> TokenRecord:
    revoked = access.revoke_token(store, name, actor=actor)
    tokens_for(store.home).forget()  # refused from the next request on
    return revoked


@router.get("/audit", response_model=list[AuditEntry], summary="The audit log, newest first")
def audit_log(
    store: StoreDep,
    _: Admin,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[AuditEntry]:
    return access.audit_log(store, None, limit, offset)
