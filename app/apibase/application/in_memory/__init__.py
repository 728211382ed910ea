"""In-memory adapters of every application port: test doubles and the embedded fallback."""

from apibase.application.in_memory.events import InMemoryEventPublisher
from apibase.application.in_memory.repository import InMemoryRepository
from apibase.application.in_memory.store import InMemoryStore
from apibase.application.in_memory.unit_of_work import InMemoryUnitOfWork, TransactionalStore

__all__ = [
    "InMemoryEventPublisher",
    "InMemoryRepository",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "TransactionalStore",
]
