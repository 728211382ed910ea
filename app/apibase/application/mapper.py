"""Mapping between domain entities, persistence models and response DTOs without hand-written copies.

Same-named fields map automatically; anything else is a named transform. Pydantic does the heavy lifting
(``from_attributes``), so nested entities become nested DTOs and a list of 10,000 entities is validated in
one call into pydantic-core instead of 10,000 Python round trips. Wherever reading a source's attributes and
reading its field dict validate alike (decided once per mapper), the dict is what pydantic-core reads: a
SQLAlchemy row's attributes are Python-level lookups, several times slower than its mapping.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
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
        # Likewise a row whose values are named by a mapping (a SQLAlchemy row's ``_mapping``): validated from a
        # dict of the entity's fields it holds (extra columns, such as the tenant, left out as attributes are).
        self._entity_reads_mapping = _validates_like_attributes(self._entity) and all(
            name in self._entity.model_fields for name, _ in self._entity_transforms
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
        return self._entity.model_validate(self._entity_sources([model])[0], from_attributes=True)

    def to_entities(self, models: Sequence[TModel]) -> list[TEntity]:
        """``to_entity`` for many rows in one pydantic-core call (the same checks, no Python round trip per row).

        A row that fails is validated again on its own, so the error is exactly the one ``to_entity`` raises.
        """
        try:
            return self._entity_list.validate_python(self._entity_sources(models), from_attributes=True)
        except ValidationError:
            for model in models:
                self.to_entity(model)
            raise

    def _entity_sources(self, models: Sequence[TModel]) -> Sequence[object]:
        """What the entities are validated from: the rows' field dicts when they can be, else the rows."""
        sources = self._mapped_sources(models) if self._entity_reads_mapping and models else None
        if sources is not None:
            return sources
        transforms = self._entity_transforms
        return [_overlay(model, transforms) for model in models] if transforms else models

    def _mapped_sources(self, models: Sequence[TModel]) -> list[dict[str, object]] | None:
        """Each row's entity fields as a dict read from its ``_mapping``, or None to read attributes instead.

        The fields are those the first row holds (a select may read a subset of columns): the rows of one result
        share their keys, which SQLAlchemy's rows show cheaply by sharing their result's metadata (``_parent``);
        other rows have their keys compared. A row with another kind of mapping or other keys sends the whole list
        down the attribute path, so no row is read differently from ``getattr``.
        """
        first = getattr(models[0], "_mapping", None)
        if not isinstance(first, Mapping):
            return None
        kind, keys, parent = type(first), first.keys(), getattr(models[0], "_parent", None)
        names = tuple(name for name in self._entity.model_fields if name in first)
        pick, transforms = _picker(names), self._entity_transforms
        sources: list[dict[str, object]] = []
        try:
            for model in models:
                mapping = model._mapping  # type: ignore[attr-defined]
                if type(mapping) is not kind:
                    return None
                if (parent is None or getattr(model, "_parent", None) is not parent) and mapping.keys() != keys:
                    return None
                values = dict(zip(names, pick(mapping), strict=True))
                for name, transform in transforms:
                    values[name] = transform(model)
                sources.append(values)
        except (AttributeError, KeyError):
            return None
        return sources

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

    Not so when a field needs another attribute (a property), when extra keys would be refused or kept, or when
    the model reads its fields otherwise (see ``_validates_like_attributes``).
    """
    if response.model_config.get("extra", "ignore") != "ignore":
        return False
    return _validates_like_attributes(response) and all(name in available for name in response.model_fields)


def _validates_like_attributes(model: type[BaseModel]) -> bool:
    """Whether a dict of field names validates ``model`` as an object with those attributes does.

    Not so when a field is read under an alias, or when a before/wrap model validator would see a dict instead of
    the object.
    """
    validators = model.__pydantic_decorators__.model_validators.values()
    if any(validator.info.mode != "after" for validator in validators):
        return False
    return all(info.alias is None and info.validation_alias is None for info in model.model_fields.values())


def _picker(names: tuple[str, ...]) -> Callable[[Mapping[str, object]], tuple[object, ...]]:
    """The values of ``names`` in a mapping, as a tuple, in one C call (``itemgetter`` of one name is no tuple)."""
    if len(names) > 1:
        return operator.itemgetter(*names)
    return lambda mapping: tuple(mapping[name] for name in names)


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
