"""Litestar hello-world: the ceiling the suite compares avm's reads with. Served like avm
(`uvicorn hello_app:create_app --factory`, same worker count).

    GET /hello -> 200 {"hello": "world"}
"""
from __future__ import annotations

from litestar import Litestar, get


@get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def create_app() -> Litestar:
    return Litestar(route_handlers=[hello], debug=False)
