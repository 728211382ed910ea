"""Ports: the interfaces the application needs, implemented by in-memory adapters here and by
infrastructure adapters (SQLAlchemy, Redis, brokers) above."""

from apibase.application.ports.events import EventPublisher
from apibase.application.ports.factory import Factory
from apibase.application.ports.repository import Repository
from apibase.application.ports.service import Service
from apibase.application.ports.store import Store
from apibase.application.ports.unit_of_work import UnitOfWork

__all__ = ["EventPublisher", "Factory", "Repository", "Service", "Store", "UnitOfWork"]
