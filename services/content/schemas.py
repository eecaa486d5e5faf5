"""Content's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints, model_validator

from services.kit.web import Model

Topic = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
Kind = Literal["article", "link", "video", "news", "question", "joke"]


class PostCreate(Model):
    kind: Kind
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    body: Annotated[str, Field(max_length=40000)] | None = None
    url: AnyHttpUrl | None = Field(None, description="http(s) only; required for link and video posts")
    topics: Annotated[list[Topic], Field(min_length=1, max_length=5)] = Field(description="1-5 lowercase tags")

    @model_validator(mode="after")
    def _kind_fields(self) -> "PostCreate":
        if self.kind in ("link", "video") and self.url is None:
            raise ValueError(f"a {self.kind} post needs a url")
        if self.kind == "article" and not self.body:
            raise ValueError("an article needs a body")
        if len(set(self.topics)) != len(self.topics):
            raise ValueError("topics must not repeat")
        return self


class PostRead(BaseModel):
    id: uuid.UUID
    author_id: uuid.UUID
    kind: str
    title: str
    body: str | None
    url: str | None
    topics: list[str]
    created_at: datetime
