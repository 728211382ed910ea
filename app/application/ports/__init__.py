"""Ports: the interfaces the application needs, implemented by in-memory adapters here and by
infrastructure adapters (SQLAlchemy, Redis, brokers) above."""

from app.application.ports.events import EventPublisher
from app.application.ports.factory import Factory
from app.application.ports.repository import Repository
from app.application.ports.service import Service
from app.application.ports.store import Store
from app.application.ports.unit_of_work import UnitOfWork

__all__ = ["EventPublisher", "Factory", "Repository", "Service", "Store", "UnitOfWork"]
