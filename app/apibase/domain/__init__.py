"""DDD building blocks: entities, aggregates, value objects, domain events and specifications."""

from apibase.domain.entities import (
    AggregateRoot,
    AuditableEntity,
    BaseEntity,
    Identifiable,
    VersionedEntity,
    utc_now,
)
from apibase.domain.events import (
    DomainEvent,
)
from apibase.domain.specification import (
    And,
    Comparison,
    FieldPath,
    Not,
    Operator,
    Or,
    Predicate,
    Specification,
    TrueSpecification,
    field,
    resolve_path,
)
from apibase.domain.value_objects import (
    BaseValueObject,
)

__all__ = [
    "AggregateRoot",
    "And",
    "AuditableEntity",
    "BaseEntity",
    "BaseValueObject",
    "Comparison",
    "DomainEvent",
    "FieldPath",
    "Identifiable",
    "Not",
    "Operator",
    "Or",
    "Predicate",
    "Specification",
    "TrueSpecification",
    "VersionedEntity",
    "field",
    "resolve_path",
    "utc_now",
]
