import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job_manifest import JobManifest
from ...models.job_out import JobOut
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: UUID,
    *,
    tenant_id: UUID | Unset = UNSET,
    at: datetime.datetime | int | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    params: dict[str, Any] = {}

    json_tenant_id: str | Unset = UNSET
    if not isinstance(tenant_id, Unset):
        json_tenant_id = str(tenant_id)
    params["tenant_id"] = json_tenant_id

    json_at: int | str | Unset
    if isinstance(at, Unset):
        json_at = UNSET
    elif isinstance(at, datetime.datetime):
        json_at = at.isoformat()
    else:
        json_at = at
    params["at"] = json_at

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/jobs/{job_id}".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JobManifest | JobOut | Problem | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> JobManifest | JobOut:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = JobOut.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = JobManifest.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

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
) -> Response[JobManifest | JobOut | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    tenant_id: UUID | Unset = UNSET,
    at: datetime.datetime | int | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[JobManifest | JobOut | Problem]:
    """GetJob

    Args:
        job_id (UUID):
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        at (datetime.datetime | int | Unset): A version number or an RFC 3339 time
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobManifest | JobOut | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        tenant_id=tenant_id,
        at=at,
        x_correlation_id=x_correlation_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    tenant_id: UUID | Unset = UNSET,
    at: datetime.datetime | int | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> JobManifest | JobOut | Problem | None:
    """GetJob

    Args:
        job_id (UUID):
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        at (datetime.datetime | int | Unset): A version number or an RFC 3339 time
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobManifest | JobOut | Problem
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        tenant_id=tenant_id,
        at=at,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    job_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    tenant_id: UUID | Unset = UNSET,
    at: datetime.datetime | int | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[JobManifest | JobOut | Problem]:
    """GetJob

    Args:
        job_id (UUID):
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        at (datetime.datetime | int | Unset): A version number or an RFC 3339 time
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobManifest | JobOut | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        tenant_id=tenant_id,
        at=at,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    tenant_id: UUID | Unset = UNSET,
    at: datetime.datetime | int | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> JobManifest | JobOut | Problem | None:
    """GetJob

    Args:
        job_id (UUID):
        tenant_id (UUID | Unset): Admins: read another tenant's data (recorded on its trail)
        at (datetime.datetime | int | Unset): A version number or an RFC 3339 time
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobManifest | JobOut | Problem
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            tenant_id=tenant_id,
            at=at,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
