from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.asset_list import AssetList
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    project_id: UUID | Unset = UNSET,
    include_expired: bool | Unset = False,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    params["type"] = type_

    json_project_id: str | Unset = UNSET
    if not isinstance(project_id, Unset):
        json_project_id = str(project_id)
    params["project_id"] = json_project_id

    params["include_expired"] = include_expired

    params["include_deleted"] = include_deleted

    json_tenant_id: str | Unset = UNSET
    if not isinstance(tenant_id, Unset):
        json_tenant_id = str(tenant_id)
    params["tenant_id"] = json_tenant_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/assets",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AssetList | Problem | None:
    if response.status_code == 200:
        response_200 = AssetList.from_dict(response.json())

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
) -> Response[AssetList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    project_id: UUID | Unset = UNSET,
    include_expired: bool | Unset = False,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[AssetList | Problem]:
    """ListAssets

    Args:
        limit (int | Unset):  Default: 20.
        cursor (str | Unset): The next_cursor of the previous page
        type_ (str | Unset):
        project_id (UUID | Unset):
        include_expired (bool | Unset):  Default: False.
        include_deleted (bool | Unset):  Default: False.
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AssetList | Problem]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        type_=type_,
        project_id=project_id,
        include_expired=include_expired,
        include_deleted=include_deleted,
        tenant_id=tenant_id,
        x_correlation_id=x_correlation_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    project_id: UUID | Unset = UNSET,
    include_expired: bool | Unset = False,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> AssetList | Problem | None:
    """ListAssets

    Args:
        limit (int | Unset):  Default: 20.
        cursor (str | Unset): The next_cursor of the previous page
        type_ (str | Unset):
        project_id (UUID | Unset):
        include_expired (bool | Unset):  Default: False.
        include_deleted (bool | Unset):  Default: False.
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AssetList | Problem
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        type_=type_,
        project_id=project_id,
        include_expired=include_expired,
        include_deleted=include_deleted,
        tenant_id=tenant_id,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    project_id: UUID | Unset = UNSET,
    include_expired: bool | Unset = False,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[AssetList | Problem]:
    """ListAssets

    Args:
        limit (int | Unset):  Default: 20.
        cursor (str | Unset): The next_cursor of the previous page
        type_ (str | Unset):
        project_id (UUID | Unset):
        include_expired (bool | Unset):  Default: False.
        include_deleted (bool | Unset):  Default: False.
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AssetList | Problem]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        type_=type_,
        project_id=project_id,
        include_expired=include_expired,
        include_deleted=include_deleted,
        tenant_id=tenant_id,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    cursor: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    project_id: UUID | Unset = UNSET,
    include_expired: bool | Unset = False,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> AssetList | Problem | None:
    """ListAssets

    Args:
        limit (int | Unset):  Default: 20.
        cursor (str | Unset): The next_cursor of the previous page
        type_ (str | Unset):
        project_id (UUID | Unset):
        include_expired (bool | Unset):  Default: False.
        include_deleted (bool | Unset):  Default: False.
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AssetList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            type_=type_,
            project_id=project_id,
            include_expired=include_expired,
            include_deleted=include_deleted,
            tenant_id=tenant_id,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
