"""`GET /metrics`: Prometheus metrics. They hold route templates and counts, never personal data."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from dataward.guard.metrics import CONTENT_TYPE
from dataward.guard.service import Guard

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, denials by reason, anomalies, latency",
    response_class=Response,
    openapi_extra={"security": []},
    responses={200: {"content": {"text/plain": {}}, "description": "The Prometheus text format."}},
)
async def metrics(request: Request) -> Response:
    guard: Guard = request.app.state.guard
    return Response(guard.metrics.exposition(), media_type=CONTENT_TYPE)
