from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.complete_job import CompleteJob
from ...models.problem import Problem
from ...models.worker_job_out import WorkerJobOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: UUID,
    *,
    body: CompleteJob | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-ID"] = x_correlation_id

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/jobs/{job_id}/complete".format(
            job_id=quote(str(job_id), safe=""),
        ),
    }

    if isinstance(body, CompleteJob):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | WorkerJobOut | None:
    if response.status_code == 200:
        response_200 = WorkerJobOut.from_dict(response.json())

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
) -> Response[Problem | WorkerJobOut]:
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
    body: CompleteJob | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[Problem | WorkerJobOut]:
    """CompleteJob

    Args:
        job_id (UUID):
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):
        body (CompleteJob | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WorkerJobOut]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        body=body,
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
    body: CompleteJob | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Problem | WorkerJobOut | None:
    """CompleteJob

    Args:
        job_id (UUID):
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):
        body (CompleteJob | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WorkerJobOut
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        x_correlation_id=x_correlation_id,
    ).parsed


async def asyncio_detailed(
    job_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: CompleteJob | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Response[Problem | WorkerJobOut]:
    """CompleteJob

    Args:
        job_id (UUID):
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):
        body (CompleteJob | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WorkerJobOut]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        body=body,
        idempotency_key=idempotency_key,
        x_correlation_id=x_correlation_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: CompleteJob | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
    x_correlation_id: str | Unset = UNSET,
) -> Problem | WorkerJobOut | None:
    """CompleteJob

    Args:
        job_id (UUID):
        idempotency_key (str | Unset):
        x_correlation_id (str | Unset):
        body (CompleteJob | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WorkerJobOut
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            x_correlation_id=x_correlation_id,
        )
    ).parsed
