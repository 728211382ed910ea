"""The query-hint scenarios, written once and run on every database (SQLite, PostgreSQL and MariaDB).

Subclass :class:`QueryHintsContract` in a test module and provide an ``engine`` fixture whose database has
``hints_metadata``'s tables created and empty. Each scenario checks what the hint changes (the SQL sent, the
columns loaded, the number of statements) and that the rows stay the same as without it. The tables (authors and
their books) live in their own metadata, so they never leak into migrations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import ForeignKey, Index, MetaData, String, event, insert, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from apibase.domain.specification import field
from apibase.infrastructure.persistence.database import create_session_factory
from apibase.infrastructure.persistence.query_builder import QueryBuilder
from apibase.infrastructure.persistence.query_hints import (
    HINTED_DIALECTS,
    QueryHints,
    force_index,
    ignore_index,
    joined,
    selectin,
    use_index,
)

__all__ = ["AuthorRow", "BookRow", "QueryHintsContract", "hints_metadata"]


class _HintsBase(DeclarativeBase):
    metadata = MetaData()


hints_metadata = _HintsBase.metadata


class AuthorRow(_HintsBase):
    __tablename__ = "qh_authors"
    __table_args__ = (Index("ix_qh_authors_name", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50))
    biography: Mapped[str | None] = mapped_column(String(500))
    books: Mapped[list[BookRow]] = relationship(back_populates="author", order_by="BookRow.id")


class BookRow(_HintsBase):
    __tablename__ = "qh_books"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("qh_authors.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    author: Mapped[AuthorRow] = relationship(back_populates="books")


AUTHORS = [
    {"id": 1, "name": "Ada", "biography": "Analyst"},
    {"id": 2, "name": "Grace", "biography": "Admiral"},
    {"id": 3, "name": "Edsger", "biography": None},
]
BOOKS = [
    {"id": 10, "author_id": 1, "title": "Notes"},
    {"id": 11, "author_id": 1, "title": "Sketch"},
    {"id": 20, "author_id": 2, "title": "Compilers"},
]


class QueryHintsContract:
    """Every scenario on the database of the subclass's ``engine`` fixture."""

    @pytest.fixture
    async def session(self, engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
        async with engine.begin() as connection:
            await connection.execute(insert(AuthorRow), AUTHORS)
            await connection.execute(insert(BookRow), BOOKS)
        async with create_session_factory(engine)() as session:
            yield session

    @staticmethod
    @contextmanager
    def statements(session: AsyncSession) -> Iterator[list[str]]:
        """The SQL text of every SELECT the session sends inside the block (not SQLite's ``BEGIN``)."""
        sent: list[str] = []
        engine = session.get_bind()

        def capture(*args: object) -> None:
            if str(args[2]).lstrip().upper().startswith("SELECT"):
                sent.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            yield sent
        finally:
            event.remove(engine, "before_cursor_execute", capture)

    @staticmethod
    def hinted(session: AsyncSession) -> bool:
        return session.get_bind().dialect.name in HINTED_DIALECTS

    async def test_index_hints_reach_mysql_and_mariadb_only_and_keep_the_rows(self, session: AsyncSession) -> None:
        authors = QueryBuilder(AuthorRow).where(field("name").ne("Edsger"))
        for hint in (use_index("ix_qh_authors_name"), force_index("ix_qh_authors_name"), ignore_index("PRIMARY")):
            with self.statements(session) as sent:
                rows = await authors.hints(QueryHints(indexes=(hint,))).all(session)
            assert sorted(row.name for row in rows) == ["Ada", "Grace"]
            assert (f"{hint.kind.value} INDEX ({hint.indexes[0]})" in sent[0]) is self.hinted(session)

    async def test_an_index_hint_names_a_joined_table_by_its_join_name(self, session: AsyncSession) -> None:
        books = QueryBuilder(BookRow).join(AuthorRow, name="author").where(field("author.name").eq("Ada"))
        hints = QueryHints(indexes=(use_index("ix_qh_authors_name", table="author"),))
        with self.statements(session) as sent:
            rows = await books.hints(hints).all(session)
            count = await books.hints(hints).count_rows(session)
        assert sorted(row.title for row in rows) == ["Notes", "Sketch"]
        assert count == 2
        assert all(("qh_authors USE INDEX (ix_qh_authors_name)" in sql) is self.hinted(session) for sql in sent)

    async def test_load_only_reads_the_chosen_columns_and_the_key(self, session: AsyncSession) -> None:
        with self.statements(session) as sent:
            rows = await QueryBuilder(AuthorRow).hints(QueryHints(columns=("name",))).all(session)
        assert sorted(row.name for row in rows) == ["Ada", "Edsger", "Grace"]
        assert "biography" not in sent[0]
        assert all(inspect(row).unloaded == {"biography", "books"} for row in rows)

    async def test_selectin_loads_every_collection_with_one_more_statement(self, session: AsyncSession) -> None:
        with self.statements(session) as sent:
            authors = await QueryBuilder(AuthorRow).hints(QueryHints(eager=(selectin("books"),))).all(session)
        books = {author.name: [book.title for book in author.books] for author in authors}
        assert books == {"Ada": ["Notes", "Sketch"], "Grace": ["Compilers"], "Edsger": []}
        assert len(sent) == 2

    async def test_joined_loads_in_the_same_statement_along_a_path(self, session: AsyncSession) -> None:
        hints = QueryHints(eager=(joined("author.books"),))
        with self.statements(session) as sent:
            books = await QueryBuilder(BookRow).hints(hints).all(session)
            first = await QueryBuilder(BookRow).where(BookRow.id == 20).hints(hints).first(session)
        assert sorted((book.title, len(book.author.books)) for book in books) == [
            ("Compilers", 1),
            ("Notes", 2),
            ("Sketch", 2),
        ]
        assert first is not None
        assert first.author.name == "Grace"
        assert len(sent) == 2  # one statement per query, however many rows and relationships
