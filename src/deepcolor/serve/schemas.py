"""The request and response shapes of the API, typed so that `/docs` describes them and bad values get a 422.

Form fields arrive as text; pydantic converts them ("1.2" -> 1.2, "true" -> True) and checks the ranges,
which are the command line's. An empty field counts as absent (an HTML form sends empty inputs).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deepcolor.serve.errors import ClientError, one_line
from deepcolor.serve.settings import MAX_SIDE_RANGE, RENDER_SIZE_RANGE, SATURATION_RANGE

# The decolorization methods (deepcolor.decolor.METHODS; a test checks that the two lists match).
DECOLOR_METHODS = ("lcp", "cpd", "lightness", "luma601", "luma709", "average")
OutputFormat = Literal["png", "jpeg", "webp"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    max_side: int | None = Field(
        None,
        ge=MAX_SIDE_RANGE[0],
        le=MAX_SIDE_RANGE[1],
        description="Return a preview whose longer side is at most this many pixels (absent: full size).",
    )


class _ModelParams(_Params):
    model: str | None = Field(
        None, description="A model name from GET /api/models (absent: the server's default)."
    )
    render_size: int | None = Field(
        None,
        ge=RENDER_SIZE_RANGE[0],
        le=RENDER_SIZE_RANGE[1],
        description="Longer side, in pixels, of the lightness the network sees (absent: the model's).",
    )


class ColorizeParams(_ModelParams):
    saturation: float = Field(
        1.0,
        ge=SATURATION_RANGE[0],
        le=SATURATION_RANGE[1],
        description="Factor on the predicted chroma: 0 gives grey, above 1 more vivid.",
    )
    format: OutputFormat | None = Field(
        None, description="Output format (absent: the input's kind, else png)."
    )
    hints: str | None = Field(
        None,
        description='Colour hints as JSON: {"points": [{"x": 120, "y": 45, "color": "#1f4fa0", "radius": 3}]}'
        " (x, y in pixels of the input as displayed, origin top-left), as text or as a file (the CLI's hint"
        " file, read by deepcolor.hints.points).",
    )


class UncertaintyParams(_ModelParams):
    hints: str | None = Field(None, description="Colour hints, as for /api/colorize.")


class EnhanceParams(_ModelParams):
    strength: float = Field(
        0.8, ge=0.0, le=1.0, description="How far the dullest areas move toward the predicted colours."
    )
    clahe: bool = Field(False, description="Also equalise the lightness locally (CLAHE).")
    clahe_limit: float = Field(0.01, gt=0.0, le=1.0, description="CLAHE clip limit.")
    format: OutputFormat | None = Field(
        None, description="Output format (absent: the input's kind, else png)."
    )


class DecolorizeParams(_Params):
    method: Literal[DECOLOR_METHODS] = Field("lcp", description="Colour -> grey method.")  # type: ignore[valid-type]
    keep_channels: bool = Field(False, description="Return the grey as RGB (three equal channels).")
    format: OutputFormat | None = Field(
        None, description="Output format (absent: the input's kind, else png)."
    )


class SuggestParams(_ModelParams):
    x: float = Field(..., ge=0, description="Column of the point, in pixels of the input as displayed.")
    y: float = Field(..., ge=0, description="Row of the point, in pixels of the input as displayed.")
    k: int = Field(5, ge=1, le=32, description="How many colours to suggest.")
    hints: str | None = Field(None, description="The hints given so far (as for /api/colorize): taken in.")


class SuggestedColor(BaseModel):
    color: str = Field(..., description="sRGB hex, #rrggbb.")
    probability: float


class SuggestResponse(BaseModel):
    x: float
    y: float
    colors: list[SuggestedColor]


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    family: str
    render_size: int
    default: bool


class ModelsResponse(BaseModel):
    default: str
    models: list[ModelInfo]
    features: dict[str, bool] = Field(
        ...,
        description="hints, reference, suggest, uncertainty: whether the default model takes guidance.",
    )
    limits: dict[str, float]


class Health(BaseModel):
    status: str
    version: str
    workers: int
    queue: int
    busy: int


class ErrorBody(BaseModel):
    error: str = Field(..., description="What went wrong, one line.")


def parse_params(model: type[_Params], fields: dict[str, str]) -> Any:
    """Validate form fields against `model`; the first problem becomes a 422 with one line."""
    values = {name: value for name, value in fields.items() if value.strip() != ""}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "form"
        if first.get("type") == "extra_forbidden":
            raise ClientError(422, f"unknown field {where!r}") from None
        if first.get("type") == "missing":
            raise ClientError(422, f"{where}: required") from None
        raise ClientError(422, one_line(f"{where}: {first.get('msg', 'invalid value')}")) from None


def multipart_schema(
    params: type[BaseModel], files: dict[str, str], required: tuple[str, ...] = ("file",)
) -> dict:
    """The OpenAPI requestBody for a multipart form of `files` (name -> description) and `params`' fields."""
    schema = params.model_json_schema()
    properties = {
        name: {"type": "string", "format": "binary", "description": text} for name, text in files.items()
    }
    properties.update(schema.get("properties", {}))
    body = {
        "type": "object",
        "properties": properties,
        "required": list(required) + [name for name in schema.get("required", []) if name not in required],
    }
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": body}}}}
