import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.project_out import ProjectOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    project_id: UUID,
    *,
    at: datetime.datetime | int | Unset = UNSET,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    params: dict[str, Any] = {}

    json_at: int | str | Unset
    if isinstance(at, Unset):
        json_at = UNSET
    elif isinstance(at, datetime.datetime):
        json_at = at.isoformat()
    else:
        json_at = at
    params["at"] = json_at

    params["include_deleted"] = include_deleted

    json_tenant_id: str | Unset = UNSET
    if not isinstance(tenant_id, Unset):
        json_tenant_id = str(tenant_id)
    params["tenant_id"] = json_tenant_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/projects/{project_id}".format(
            project_id=quote(str(project_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ProjectOut | None:
    if response.status_code == 200:
        response_200 = ProjectOut.from_dict(response.json())

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
) -> Response[Problem | ProjectOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    project_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    at: datetime.datetime | int | Unset = UNSET,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[Problem | ProjectOut]:
    """GetProject

    Args:
        project_id (UUID):
        at (datetime.datetime | int | Unset): A version number or an RFC 3339 time
        include_deleted (bool | Unset):  Default: False.
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ProjectOut]
    """

    kwargs = _get_kwargs(
        project_id=project_id,
        at=at,
        include_deleted=include_deleted,
        tenant_id=tenant_id,
        x_correlation_id=x_correlation_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    project_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    at: datetime.datetime | int | Unset = UNSET,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Problem | ProjectOut | None:
    """GetProject

    Args:
        project_id (UUID):
        at (datetime.datetime | int | Unset): A version number or an RFC 3339 time
        include_deleted (bool | Unset):  Default: False.
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ProjectOut
    """

    return sync_detailed(
        project_id=project_id,
        client=client,
        at=at,
        include_deleted=include_deleted,
        tenant_id=tenant_id,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    project_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    at: datetime.datetime | int | Unset = UNSET,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[Problem | ProjectOut]:
    """GetProject

    Args:
        project_id (UUID):
        at (datetime.datetime | int | Unset): A version number or an RFC 3339 time
        include_deleted (bool | Unset):  Default: False.
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ProjectOut]
    """

    kwargs = _get_kwargs(
        project_id=project_id,
        at=at,
        include_deleted=include_deleted,
        tenant_id=tenant_id,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    project_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    at: datetime.datetime | int | Unset = UNSET,
    include_deleted: bool | Unset = False,
    tenant_id: UUID | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Problem | ProjectOut | None:
    """GetProject

    Args:
        project_id (UUID):
        at (datetime.datetime | int | Unset): A version number or an RFC 3339 time
        include_deleted (bool | Unset):  Default: False.
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ProjectOut
    """

    return (
        await asyncio_detailed(
            project_id=project_id,
            client=client,
            at=at,
            include_deleted=include_deleted,
            tenant_id=tenant_id,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
