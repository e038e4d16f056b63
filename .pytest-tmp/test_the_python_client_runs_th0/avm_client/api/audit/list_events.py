import datetime
from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audit_event_list import AuditEventList
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    aggregate_id: UUID | Unset = UNSET,
    type_: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
    tenant_id: UUID | Unset = UNSET,
    cursor: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    params: dict[str, Any] = {}

    json_aggregate_id: str | Unset = UNSET
    if not isinstance(aggregate_id, Unset):
        json_aggregate_id = str(aggregate_id)
    params["aggregate_id"] = json_aggregate_id

    params["type"] = type_

    params["actor_id"] = actor_id

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params["after"] = after

    params["limit"] = limit

    json_tenant_id: str | Unset = UNSET
    if not isinstance(tenant_id, Unset):
        json_tenant_id = str(tenant_id)
    params["tenant_id"] = json_tenant_id

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/audit/events",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuditEventList | Problem | None:
    if response.status_code == 200:
        response_200 = AuditEventList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AuditEventList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    aggregate_id: UUID | Unset = UNSET,
    type_: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
    tenant_id: UUID | Unset = UNSET,
    cursor: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[AuditEventList | Problem]:
    """ListEvents

    Args:
        aggregate_id (UUID | Unset):
        type_ (str | Unset): Event type, e.g. Project.Renamed
        actor_id (str | Unset): A user id or a system:… actor
        since (datetime.datetime | Unset): An RFC 3339 time (on recorded_at)
        until (datetime.datetime | Unset): An RFC 3339 time (on recorded_at)
        after (int | Unset): A position: list the events after it
        limit (int | Unset): Page size (1–100) Default: 20.
        tenant_id (UUID | Unset): Admins: the tenant to audit (recorded on that tenant's trail).
            Others: their own id only.
        cursor (str | Unset): A next_cursor of this list
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditEventList | Problem]
    """

    kwargs = _get_kwargs(
        aggregate_id=aggregate_id,
        type_=type_,
        actor_id=actor_id,
        since=since,
        until=until,
        after=after,
        limit=limit,
        tenant_id=tenant_id,
        cursor=cursor,
        x_correlation_id=x_correlation_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    aggregate_id: UUID | Unset = UNSET,
    type_: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
    tenant_id: UUID | Unset = UNSET,
    cursor: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> AuditEventList | Problem | None:
    """ListEvents

    Args:
        aggregate_id (UUID | Unset):
        type_ (str | Unset): Event type, e.g. Project.Renamed
        actor_id (str | Unset): A user id or a system:… actor
        since (datetime.datetime | Unset): An RFC 3339 time (on recorded_at)
        until (datetime.datetime | Unset): An RFC 3339 time (on recorded_at)
        after (int | Unset): A position: list the events after it
        limit (int | Unset): Page size (1–100) Default: 20.
        tenant_id (UUID | Unset): Admins: the tenant to audit (recorded on that tenant's trail).
            Others: their own id only.
        cursor (str | Unset): A next_cursor of this list
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditEventList | Problem
    """

    return sync_detailed(
        client=client,
        aggregate_id=aggregate_id,
        type_=type_,
        actor_id=actor_id,
        since=since,
        until=until,
        after=after,
        limit=limit,
        tenant_id=tenant_id,
        cursor=cursor,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    aggregate_id: UUID | Unset = UNSET,
    type_: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
    tenant_id: UUID | Unset = UNSET,
    cursor: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[AuditEventList | Problem]:
    """ListEvents

    Args:
        aggregate_id (UUID | Unset):
        type_ (str | Unset): Event type, e.g. Project.Renamed
        actor_id (str | Unset): A user id or a system:… actor
        since (datetime.datetime | Unset): An RFC 3339 time (on recorded_at)
        until (datetime.datetime | Unset): An RFC 3339 time (on recorded_at)
        after (int | Unset): A position: list the events after it
        limit (int | Unset): Page size (1–100) Default: 20.
        tenant_id (UUID | Unset): Admins: the tenant to audit (recorded on that tenant's trail).
            Others: their own id only.
        cursor (str | Unset): A next_cursor of this list
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditEventList | Problem]
    """

    kwargs = _get_kwargs(
        aggregate_id=aggregate_id,
        type_=type_,
        actor_id=actor_id,
        since=since,
        until=until,
        after=after,
        limit=limit,
        tenant_id=tenant_id,
        cursor=cursor,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    aggregate_id: UUID | Unset = UNSET,
    type_: str | Unset = UNSET,
    actor_id: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
    tenant_id: UUID | Unset = UNSET,
    cursor: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> AuditEventList | Problem | None:
    """ListEvents

    Args:
        aggregate_id (UUID | Unset):
        type_ (str | Unset): Event type, e.g. Project.Renamed
        actor_id (str | Unset): A user id or a system:… actor
        since (datetime.datetime | Unset): An RFC 3339 time (on recorded_at)
        until (datetime.datetime | Unset): An RFC 3339 time (on recorded_at)
        after (int | Unset): A position: list the events after it
        limit (int | Unset): Page size (1–100) Default: 20.
        tenant_id (UUID | Unset): Admins: the tenant to audit (recorded on that tenant's trail).
            Others: their own id only.
        cursor (str | Unset): A next_cursor of this list
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditEventList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            aggregate_id=aggregate_id,
            type_=type_,
            actor_id=actor_id,
            since=since,
            until=until,
            after=after,
            limit=limit,
            tenant_id=tenant_id,
            cursor=cursor,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
