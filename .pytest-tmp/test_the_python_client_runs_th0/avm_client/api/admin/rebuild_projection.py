from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.projection_out import ProjectionOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    name: str,
    *,
    tenant_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    params: dict[str, Any] = {}

    json_tenant_id: str | Unset = UNSET
    if not isinstance(tenant_id, Unset):
        json_tenant_id = str(tenant_id)
    params["tenant_id"] = json_tenant_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/admin/projections/{name}/rebuild".format(
            name=quote(str(name), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ProjectionOut | None:
    if response.status_code == 202:
        response_202 = ProjectionOut.from_dict(response.json())

        return response_202

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

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
) -> Response[Problem | ProjectionOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    tenant_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[Problem | ProjectionOut]:
    """RebuildProjection

    Args:
        name (str):
        tenant_id (UUID | Unset): Rebuild only this tenant's rows
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ProjectionOut]
    """

    kwargs = _get_kwargs(
        name=name,
        tenant_id=tenant_id,
        idempotency_key=idempotency_key,
        x_correlation_id=x_correlation_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    tenant_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Problem | ProjectionOut | None:
    """RebuildProjection

    Args:
        name (str):
        tenant_id (UUID | Unset): Rebuild only this tenant's rows
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ProjectionOut
    """

    return sync_detailed(
        name=name,
        client=client,
        tenant_id=tenant_id,
        idempotency_key=idempotency_key,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    tenant_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[Problem | ProjectionOut]:
    """RebuildProjection

    Args:
        name (str):
        tenant_id (UUID | Unset): Rebuild only this tenant's rows
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ProjectionOut]
    """

    kwargs = _get_kwargs(
        name=name,
        tenant_id=tenant_id,
        idempotency_key=idempotency_key,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    tenant_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Problem | ProjectionOut | None:
    """RebuildProjection

    Args:
        name (str):
        tenant_id (UUID | Unset): Rebuild only this tenant's rows
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ProjectionOut
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            tenant_id=tenant_id,
            idempotency_key=idempotency_key,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
