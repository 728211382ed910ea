"""Every name the foundation promises is exported from its package's ``__all__``."""

from __future__ import annotations

import importlib

import pytest

pytestmark = pytest.mark.unit

PROMISED = {
    "apibase.core": [
        "Ok", "Err", "Result", "try_catch", "try_catch_async", "collect_results", "collect_all_errors",
        "result_from_dict", "AsyncResult", "Handler", "Validator", "Filter", "Branded", "NonEmpty", "Positive",
        "Lazy", "Validated", "AppError", "DomainError", "ApplicationError", "InfrastructureError", "AnyAppError",
        "CommonErrorCode", "ProblemDetail", "Settings", "load_settings", "SettingsError",
    ],
    "apibase.domain": [
        "BaseEntity", "AuditableEntity", "VersionedEntity", "AggregateRoot", "BaseValueObject", "DomainEvent",
        "Specification", "field",
    ],
    "apibase.application": [
        "Repository", "UnitOfWork", "Service", "Factory", "Store", "EventPublisher", "InMemoryRepository",
        "InMemoryUnitOfWork", "BaseCommand", "BaseQuery", "CommandHandler", "QueryHandler", "CommandBus",
        "QueryBus", "LoggingBehaviour", "TransactionBehaviour",
        "GenericService", "GenericMapper", "Page", "CursorPage", "PaginatedResponse", "ApiResponse", "CursorCodec",
    ],
    "apibase.testing": [
        "RepositoryContract", "InMemoryRepository", "WidgetCreateFactory", "widgets", "results",
        "assert_result_round_trips",
    ],
}  # fmt: skip


@pytest.mark.parametrize("package", sorted(PROMISED))
def test_promised_names_are_exported(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in PROMISED[package] if name not in module.__all__ or not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("package", sorted(PROMISED))
def test_every_exported_name_exists(package: str) -> None:
    module = importlib.import_module(package)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []
