"""The API's request and response schemas, derived from the record declarations.

Each declared field's type, choices, limits, default and description come from its model
field, so the API cannot drift from the pages: a field added to a declaration appears in the
form, here, in the importer and in the exports at once. Operations that need more than the
record (a procedure's cycles, a username for an operator) say so with ``overrides`` and
``extra``.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db import models
from ninja import Schema
from pydantic import AfterValidator, Field, create_model

from thermablate.registry.declarations import RecordFields


class Error(Schema):
    detail: str


# Every operation's refusals: its success response is added beside these.
ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: dict}


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


def limited_text(max_length: int):
    return Annotated[str, AfterValidator(_no_nul), Field(max_length=max_length)]


ShortText = limited_text(200)


def literal(choices):
    return Literal[tuple(choices.values)]


def _described(f: models.Field, **kwargs) -> Any:
    return Field(description=str(f.help_text), **kwargs) if f.help_text else Field(**kwargs)


def _base_type(record: RecordFields, name: str, f: models.Field):
    """The value's type, before optionality, as the API accepts it."""
    if name in record.code_lists:
        return list[literal(record.code_lists[name])]
    if f.is_relation:
        return int
    if isinstance(f, models.BooleanField):
        return bool
    if isinstance(f, models.DecimalField):
        return Decimal
    if isinstance(f, models.IntegerField):
        return int  # integer codes (CTCAE grade, EQ-5D level) are checked by the model's clean
    if isinstance(f, models.DateField):
        return date
    if f.choices:
        return literal(type("Choices", (), {"values": [v for v, _ in f.choices]}))
    if isinstance(f, models.CharField):
        return limited_text(f.max_length)
    if isinstance(f, models.TextField):
        return Text
    raise TypeError(f"{record.model.__name__}.{name}: no API type for {type(f).__name__}")


def _key(f: models.Field) -> str:
    return f.attname  # a foreign key is given and returned as its id: "lesion_id"


def input_fields(record: RecordFields, *, overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    fields: dict[str, tuple] = {}
    for name in record.fields:
        if name in overrides:
            fields[name] = overrides[name]
            continue
        f = record.model_field(name)
        if f.many_to_many:
            raise TypeError(f"{record.model.__name__}.{name}: say how the API gives it")
        kind = _base_type(record, name, f)
        if record.is_required(name):
            if f.has_default() and not callable(f.default):
                fields[_key(f)] = (kind, _described(f, default=f.default))
            else:
                fields[_key(f)] = (kind, _described(f))
        elif name in record.code_lists:
            fields[_key(f)] = (kind, _described(f, default=[]))
        elif isinstance(f, models.BooleanField) and not f.null:
            fields[_key(f)] = (kind, _described(f, default=f.default))
        elif isinstance(f, models.CharField | models.TextField) and not f.null:
            if f.choices:
                kind = kind | Literal[""]
            fields[_key(f)] = (kind, _described(f, default=""))
        else:
            fields[_key(f)] = (kind | None, _described(f, default=None))
    return fields


def output_fields(record: RecordFields, *, overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    fields: dict[str, tuple] = {}
    for name in record.returned:
        if name in overrides:
            fields[name] = overrides[name]
            continue
        f = record.model_field(name)
        if f.many_to_many:
            raise TypeError(f"{record.model.__name__}.{name}: say how the API returns it")
        if name in record.code_lists:
            kind = list[str]
        elif isinstance(f, models.CharField | models.TextField) and not f.is_relation:
            kind = str
        else:
            kind = _base_type(record, name, f)
        fields[_key(f)] = (kind | None if f.null else kind, _described(f))
    return fields


def schema(name: str, fields: dict, *, base: type[Schema] = Schema) -> type[Schema]:
    return create_model(name, __base__=base, **fields)


def record_values(record: RecordFields, instance: models.Model) -> dict:
    """The declared values of ``instance``, and those its writer sets, under their API names
    (many-to-many excluded)."""
    return {
        f.attname: getattr(instance, f.attname)
        for f in (record.model_field(name) for name in record.returned)
        if not f.many_to_many
    }
