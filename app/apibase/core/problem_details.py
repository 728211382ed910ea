"""RFC 9457 problem details: the one shape every error takes when it leaves the service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_PROBLEM_TYPE_BASE", "ProblemDetail"]

DEFAULT_PROBLEM_TYPE_BASE = "https://apibase.dev/problems/"


class ProblemDetail(BaseModel):
    """An RFC 9457 problem object; extension members ride along as extra fields."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = Field(default="about:blank", description="URI identifying the problem type")
    title: str = Field(description="Short, human-readable summary of the problem type")
    status: int = Field(ge=100, le=599, description="HTTP status code for this occurrence")
    detail: str | None = Field(default=None, description="Explanation specific to this occurrence")
    instance: str | None = Field(default=None, description="URI reference of this occurrence")
    code: str = Field(description="Stable machine-readable error code (see docs/error-codes.md)")
