from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.asset_out import AssetOut
from ...models.problem import Problem
from ...models.register_output_type import RegisterOutputType
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    job_id: UUID,
    *,
    body: File,
    type_: RegisterOutputType,
    checksum: str,
    scene_index: int | Unset = UNSET,
    width: int | Unset = UNSET,
    height: int | Unset = UNSET,
    duration_seconds: float | Unset = UNSET,
    lease_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    params: dict[str, Any] = {}

    json_type_ = type_.value
    params["type"] = json_type_

    params["checksum"] = checksum

    params["scene_index"] = scene_index

    params["width"] = width

    params["height"] = height

    params["duration_seconds"] = duration_seconds

    json_lease_id: str | Unset = UNSET
    if not isinstance(lease_id, Unset):
        json_lease_id = str(lease_id)
    params["lease_id"] = json_lease_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/jobs/{job_id}/outputs".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["content"] = body.payload
    headers["Content-Type"] = "application/octet-stream"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AssetOut | Problem | None:
    if response.status_code == 201:
        response_201 = AssetOut.from_dict(response.json())

        return response_201

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
) -> Response[AssetOut | Problem]:
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
    body: File,
    type_: RegisterOutputType,
    checksum: str,
    scene_index: int | Unset = UNSET,
    width: int | Unset = UNSET,
    height: int | Unset = UNSET,
    duration_seconds: float | Unset = UNSET,
    lease_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[AssetOut | Problem]:
    """RegisterOutput

    Args:
        job_id (UUID):
        type_ (RegisterOutputType): What the bytes are
        checksum (str): sha256:<hex> of the body; 422 when the bytes differ
        scene_index (int | Unset): The scene it belongs to (required for an image)
        width (int | Unset):
        height (int | Unset):
        duration_seconds (float | Unset):
        lease_id (UUID | Unset): The claim's lease.id
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AssetOut | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        body=body,
        type_=type_,
        checksum=checksum,
        scene_index=scene_index,
        width=width,
        height=height,
        duration_seconds=duration_seconds,
        lease_id=lease_id,
        idempotency_key=idempotency_key,
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
    body: File,
    type_: RegisterOutputType,
    checksum: str,
    scene_index: int | Unset = UNSET,
    width: int | Unset = UNSET,
    height: int | Unset = UNSET,
    duration_seconds: float | Unset = UNSET,
    lease_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> AssetOut | Problem | None:
    """RegisterOutput

    Args:
        job_id (UUID):
        type_ (RegisterOutputType): What the bytes are
        checksum (str): sha256:<hex> of the body; 422 when the bytes differ
        scene_index (int | Unset): The scene it belongs to (required for an image)
        width (int | Unset):
        height (int | Unset):
        duration_seconds (float | Unset):
        lease_id (UUID | Unset): The claim's lease.id
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AssetOut | Problem
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        body=body,
        type_=type_,
        checksum=checksum,
        scene_index=scene_index,
        width=width,
        height=height,
        duration_seconds=duration_seconds,
        lease_id=lease_id,
        idempotency_key=idempotency_key,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    job_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    type_: RegisterOutputType,
    checksum: str,
    scene_index: int | Unset = UNSET,
    width: int | Unset = UNSET,
    height: int | Unset = UNSET,
    duration_seconds: float | Unset = UNSET,
    lease_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[AssetOut | Problem]:
    """RegisterOutput

    Args:
        job_id (UUID):
        type_ (RegisterOutputType): What the bytes are
        checksum (str): sha256:<hex> of the body; 422 when the bytes differ
        scene_index (int | Unset): The scene it belongs to (required for an image)
        width (int | Unset):
        height (int | Unset):
        duration_seconds (float | Unset):
        lease_id (UUID | Unset): The claim's lease.id
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AssetOut | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        body=body,
        type_=type_,
        checksum=checksum,
        scene_index=scene_index,
        width=width,
        height=height,
        duration_seconds=duration_seconds,
        lease_id=lease_id,
        idempotency_key=idempotency_key,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    type_: RegisterOutputType,
    checksum: str,
    scene_index: int | Unset = UNSET,
    width: int | Unset = UNSET,
    height: int | Unset = UNSET,
    duration_seconds: float | Unset = UNSET,
    lease_id: UUID | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> AssetOut | Problem | None:
    """RegisterOutput

    Args:
        job_id (UUID):
        type_ (RegisterOutputType): What the bytes are
        checksum (str): sha256:<hex> of the body; 422 when the bytes differ
        scene_index (int | Unset): The scene it belongs to (required for an image)
        width (int | Unset):
        height (int | Unset):
        duration_seconds (float | Unset):
        lease_id (UUID | Unset): The claim's lease.id
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AssetOut | Problem
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            body=body,
            type_=type_,
            checksum=checksum,
            scene_index=scene_index,
            width=width,
            height=height,
            duration_seconds=duration_seconds,
            lease_id=lease_id,
            idempotency_key=idempotency_key,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
