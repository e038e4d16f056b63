from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.asset_out import AssetOut
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    asset_id: UUID,
    *,
    idempotency_key: str | Unset = UNSET,
    if_match: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(if_match, Unset):
        headers["If-Match"] = if_match

    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/assets/{asset_id}/restore".format(
            asset_id=quote(str(asset_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AssetOut | Problem | None:
    if response.status_code == 200:
        response_200 = AssetOut.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 412:
        response_412 = Problem.from_dict(response.json())

        return response_412

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
) -> Response[AssetOut | Problem]:
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
    idempotency_key: str | Unset = UNSET,
    if_match: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[AssetOut | Problem]:
    """RestoreAsset

    Args:
        asset_id (UUID):
        idempotency_key (str | Unset):
        if_match (str | Unset):
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AssetOut | Problem]
    """

    kwargs = _get_kwargs(
        asset_id=asset_id,
        idempotency_key=idempotency_key,
        if_match=if_match,
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
    idempotency_key: str | Unset = UNSET,
    if_match: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> AssetOut | Problem | None:
    """RestoreAsset

    Args:
        asset_id (UUID):
        idempotency_key (str | Unset):
        if_match (str | Unset):
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AssetOut | Problem
    """

    return sync_detailed(
        asset_id=asset_id,
        client=client,
        idempotency_key=idempotency_key,
        if_match=if_match,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    asset_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    if_match: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[AssetOut | Problem]:
    """RestoreAsset

    Args:
        asset_id (UUID):
        idempotency_key (str | Unset):
        if_match (str | Unset):
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AssetOut | Problem]
    """

    kwargs = _get_kwargs(
        asset_id=asset_id,
        idempotency_key=idempotency_key,
        if_match=if_match,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    asset_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    idempotency_key: str | Unset = UNSET,
    if_match: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> AssetOut | Problem | None:
    """RestoreAsset

    Args:
        asset_id (UUID):
        idempotency_key (str | Unset):
        if_match (str | Unset):
        x_correlation_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AssetOut | Problem
    """

    return (
        await asyncio_detailed(
            asset_id=asset_id,
            client=client,
            idempotency_key=idempotency_key,
            if_match=if_match,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
