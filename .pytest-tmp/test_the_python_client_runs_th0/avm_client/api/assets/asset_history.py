from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.history import History
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    asset_id: UUID,
    *,
    after: int | Unset = UNSET,
    limit: int | Unset = 1000,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    params: dict[str, Any] = {}

    params["after"] = after

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/assets/{asset_id}/history".format(
            asset_id=quote(str(asset_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> History | Problem | None:
    if response.status_code == 200:
        response_200 = History.from_dict(response.json())

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
) -> Response[History | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    asset_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = UNSET,
    limit: int | Unset = 1000,
    x_correlation_id: str | Unset = UNSET,
) -> Response[History | Problem]:
    """AssetHistory

    Args:
        asset_id (UUID):
        after (int | Unset): A position (`next_cursor` of the previous page): list the events
            after it
        limit (int | Unset): Page size (1–1000) Default: 1000.
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[History | Problem]
    """

    kwargs = _get_kwargs(
        asset_id=asset_id,
        after=after,
        limit=limit,
        x_correlation_id=x_correlation_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    asset_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = UNSET,
    limit: int | Unset = 1000,
    x_correlation_id: str | Unset = UNSET,
) -> History | Problem | None:
    """AssetHistory

    Args:
        asset_id (UUID):
        after (int | Unset): A position (`next_cursor` of the previous page): list the events
            after it
        limit (int | Unset): Page size (1–1000) Default: 1000.
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        History | Problem
    """

    return sync_detailed(
        asset_id=asset_id,
        client=client,
        after=after,
        limit=limit,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    asset_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = UNSET,
    limit: int | Unset = 1000,
    x_correlation_id: str | Unset = UNSET,
) -> Response[History | Problem]:
    """AssetHistory

    Args:
        asset_id (UUID):
        after (int | Unset): A position (`next_cursor` of the previous page): list the events
            after it
        limit (int | Unset): Page size (1–1000) Default: 1000.
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[History | Problem]
    """

    kwargs = _get_kwargs(
        asset_id=asset_id,
        after=after,
        limit=limit,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    asset_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = UNSET,
    limit: int | Unset = 1000,
    x_correlation_id: str | Unset = UNSET,
) -> History | Problem | None:
    """AssetHistory

    Args:
        asset_id (UUID):
        after (int | Unset): A position (`next_cursor` of the previous page): list the events
            after it
        limit (int | Unset): Page size (1–1000) Default: 1000.
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        History | Problem
    """

    return (
        await asyncio_detailed(
            asset_id=asset_id,
            client=client,
            after=after,
            limit=limit,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
