"""Mapping between domain entities, persistence models and response DTOs without hand-written copies.

Same-named fields map automatically; anything else is a named transform. Pydantic does the heavy lifting
(``from_attributes``), so nested entities become nested DTOs and a list of 10,000 entities is validated in
one call into pydantic-core instead of 10,000 Python round trips.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import ClassVar, cast, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

__all__ = ["GenericMapper"]

_EMPTY: Mapping[str, Callable[[object], object]] = types.MappingProxyType({})


class GenericMapper[TEntity: BaseModel, TModel, TResponse: BaseModel]:
    """Maps ``TEntity`` to ``TModel`` and ``TResponse``, and ``TModel`` back to ``TEntity``.

    Declare the three types either as generic arguments of a subclass
    (``class ProductMapper(GenericMapper[Product, ProductRow, ProductOut])``) or as constructor arguments
    (``GenericMapper(entity=Product, model=ProductRow, response=ProductOut)``); constructor arguments win.

    ``TModel`` can be any class built from keyword arguments and read by attributes (a SQLAlchemy class, a
    dataclass, a plain class). Fields it does not share with the entity, and relationships to other models,
    are filled by ``model_transforms``.
    """

    #: Response fields computed from the entity; they override same-named automatic values.
    response_transforms: ClassVar[Mapping[str, Callable[[TEntity], object]]] = _EMPTY
    #: Model constructor arguments computed from the entity (e.g. child rows from child entities).
    model_transforms: ClassVar[Mapping[str, Callable[[TEntity], object]]] = _EMPTY
    #: Entity fields computed from the model, for columns whose name or shape differs.
    entity_transforms: ClassVar[Mapping[str, Callable[[TModel], object]]] = _EMPTY

    # The (entity, model, response) arguments a subclass gave its generic base; type variables when unbound.
    __mapper_types__: ClassVar[tuple[object, ...]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Read the generic arguments once per class, so ``ProductMapper()`` needs no arguments."""
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, GenericMapper):
                parameters: tuple[object, ...] = getattr(origin, "__parameters__", ())
                bound = dict(zip(parameters, get_args(base), strict=False))
                cls.__mapper_types__ = tuple(bound.get(item, item) for item in origin.__mapper_types__)
                return

    def __init__(
        self,
        entity: type[TEntity] | None = None,
        model: type[TModel] | None = None,
        response: type[TResponse] | None = None,
        *,
        response_transforms: Mapping[str, Callable[[TEntity], object]] | None = None,
        model_transforms: Mapping[str, Callable[[TEntity], object]] | None = None,
        entity_transforms: Mapping[str, Callable[[TModel], object]] | None = None,
    ) -> None:
        declared_entity, declared_model, declared_response = type(self).__mapper_types__
        self._entity = cast("type[TEntity]", self._resolve("entity", entity, declared_entity, pydantic=True))
        self._model = cast("type[TModel]", self._resolve("model", model, declared_model, pydantic=False))
        self._response = cast("type[TResponse]", self._resolve("response", response, declared_response, pydantic=True))
        # Transforms are frozen into tuples: iterating a tuple is the cheapest thing in the per-item loop.
        self._response_transforms = tuple({**self.response_transforms, **(response_transforms or {})}.items())
        self._model_transforms = tuple({**self.model_transforms, **(model_transforms or {})}.items())
        self._entity_transforms = tuple({**self.entity_transforms, **(entity_transforms or {})}.items())
        # When the response reads nothing but entity fields (and computed names), each entity's field dict
        # can be validated as is: pydantic-core reads a dict faster than it calls getattr on an object.
        self._reads_fields_only = _reads_only(
            self._response, set(self._entity.model_fields) | {name for name, _ in self._response_transforms}
        )
        accepted = _accepted_keywords(self._model)
        computed = {name for name, _ in self._model_transforms}
        self._model_fields = tuple(
            name
            for name in self._entity.model_fields
            if (accepted is None or name in accepted) and name not in computed
        )

    @property
    def entity_type(self) -> type[TEntity]:
        return self._entity

    @property
    def model_type(self) -> type[TModel]:
        return self._model

    @property
    def response_type(self) -> type[TResponse]:
        return self._response

    def to_response(self, entity: TEntity) -> TResponse:
        """One DTO; reads attributes (properties included), so nested entities map recursively."""
        return self._response.model_validate(self._response_source(entity), from_attributes=True)

    def to_dto_list(self, entities: Iterable[TEntity]) -> list[TResponse]:
        """Many DTOs in one pydantic-core call rather than one Python-level validation per item."""
        items: list[object]
        if self._response_transforms:
            items = [self._response_source(entity) for entity in entities]
        elif self._reads_fields_only:
            items = [entity.__dict__ for entity in entities]
        else:
            items = entities if isinstance(entities, list) else list(entities)
        return self._response_list.validate_python(items, from_attributes=True)

    def to_model(self, entity: TEntity) -> TModel:
        """Build the persistence model from the shared fields plus ``model_transforms``."""
        values = {name: getattr(entity, name) for name in self._model_fields}
        for name, transform in self._model_transforms:
            values[name] = transform(entity)
        return self._model(**values)

    def to_entity(self, model: TModel) -> TEntity:
        """Validate the entity from the model's attributes, so stored data re-enters the domain checked."""
        source = _overlay(model, self._entity_transforms) if self._entity_transforms else model
        return self._entity.model_validate(source, from_attributes=True)

    def to_entities(self, models: Sequence[TModel]) -> list[TEntity]:
        """``to_entity`` for many rows in one pydantic-core call (the same checks, no Python round trip per row).

        A row that fails is validated again on its own, so the error is exactly the one ``to_entity`` raises.
        """
        transforms = self._entity_transforms
        sources = [_overlay(model, transforms) for model in models] if transforms else models
        try:
            return self._entity_list.validate_python(sources, from_attributes=True)
        except ValidationError:
            for model in models:
                self.to_entity(model)
            raise

    def _response_source(self, entity: TEntity) -> object:
        """What the response is validated from: the entity or its field dict, plus computed values."""
        transforms = self._response_transforms
        if self._reads_fields_only:
            if not transforms:
                return entity.__dict__
            values = dict(entity.__dict__)
            for name, transform in transforms:
                values[name] = transform(entity)
            return values
        return _overlay(entity, transforms) if transforms else entity

    @cached_property
    def _response_list(self) -> TypeAdapter[list[TResponse]]:
        # Built on first use rather than in __init__, so a module-level mapper tolerates forward references.
        return TypeAdapter(cast("type[list[TResponse]]", types.GenericAlias(list, (self._response,))))

    @cached_property
    def _entity_list(self) -> TypeAdapter[list[TEntity]]:
        return TypeAdapter(cast("type[list[TEntity]]", types.GenericAlias(list, (self._entity,))))

    def _resolve(self, role: str, given: type | None, declared: object, *, pydantic: bool) -> type:
        chosen = given if given is not None else declared
        name = type(self).__qualname__
        if not isinstance(chosen, type):
            raise TypeError(
                f"{name} has no {role} type: subclass GenericMapper[Entity, Model, Response] or pass {role}=..."
            )
        if pydantic and not issubclass(chosen, BaseModel):
            raise TypeError(f"{name}: the {role} type must be a pydantic model, got {chosen.__qualname__}")
        return chosen


GenericMapper.__mapper_types__ = GenericMapper.__type_params__


class _Overlay:
    """A source object with some attributes replaced, read by pydantic's ``from_attributes``.

    Computed values and (for pydantic sources) the source's field values sit in the overlay's own
    ``__dict__``, so most reads stay in C; anything else (properties, ORM attributes) falls back to the
    source.
    """

    __slots__ = ("__dict__", "_source")

    def __init__(self, source: object, values: dict[str, object]) -> None:
        self._source = source
        self.__dict__ = values

    def __getattr__(self, name: str) -> object:
        return getattr(self._source, name)


def _overlay[S](source: S, transforms: tuple[tuple[str, Callable[[S], object]], ...]) -> _Overlay:
    values: dict[str, object] = dict(source.__dict__) if isinstance(source, BaseModel) else {}
    for name, transform in transforms:
        values[name] = transform(source)
    return _Overlay(source, values)


def _reads_only(response: type[BaseModel], available: set[str]) -> bool:
    """Whether validating ``response`` from a dict of ``available`` names equals reading them as attributes.

    Not so when a field needs another attribute (a property, an alias), when extra keys would be refused or
    kept, or when a before/wrap model validator would see a dict instead of the object.
    """
    if response.model_config.get("extra", "ignore") != "ignore":
        return False
    validators = response.__pydantic_decorators__.model_validators.values()
    if any(validator.info.mode != "after" for validator in validators):
        return False
    return all(
        name in available and info.alias is None and info.validation_alias is None
        for name, info in response.model_fields.items()
    )


def _accepted_keywords(model: type) -> frozenset[str] | None:
    """The keyword arguments ``model`` takes, or None when it takes any (``**kwargs``)."""
    names: frozenset[str] | None
    if dataclasses.is_dataclass(model):
        names = frozenset(field.name for field in dataclasses.fields(model) if field.init)
    elif issubclass(model, BaseModel):
        names = frozenset(model.model_fields)
    else:
        names = _signature_keywords(model)
    columns = _orm_columns(model)
    if columns is not None:
        # A SQLAlchemy constructor takes every mapped attribute, but only columns can come straight from
        # entity fields: relationships need model instances, which only a model transform can build.
        names = columns if names is None else names & columns
    return names


def _signature_keywords(model: type) -> frozenset[str] | None:
    try:
        parameters = inspect.signature(model).parameters.values()
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"cannot tell which keyword arguments {model.__qualname__} takes; "
            "give it an explicit __init__ or make it a dataclass"
        ) from exc
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return None
    keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(parameter.name for parameter in parameters if parameter.kind in keyword_kinds)


def _orm_columns(model: type) -> frozenset[str] | None:
    """Column attribute names of a SQLAlchemy-style class, found by duck typing (no SQLAlchemy import)."""
    column_attrs = getattr(getattr(model, "__mapper__", None), "column_attrs", None)
    if column_attrs is not None:
        return frozenset(str(attribute.key) for attribute in column_attrs)
    columns = getattr(getattr(model, "__table__", None), "columns", None)
    if columns is not None:
        return frozenset(str(column.key) for column in columns)
    return None
