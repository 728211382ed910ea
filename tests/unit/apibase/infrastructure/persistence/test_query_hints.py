"""QueryHints without a database: the SQL each dialect gets, and every mistake refused before a statement is sent."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from sqlalchemy import Table, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.dialects.mysql.mariadb import MariaDBDialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from apibase.infrastructure.persistence.query_builder import Count, QueryBuilder
from apibase.infrastructure.persistence.query_hints import (
    NO_HINTS,
    EagerLoad,
    IndexHint,
    QueryHints,
    columns_except,
    joined,
    selectin,
    table_select,
    use_index,
)
from apibase.testing.query_hints import AuthorRow, BookRow

pytestmark = pytest.mark.unit

AUTHORS: Table = AuthorRow.__table__  # type: ignore[assignment]


class Author(BaseModel):
    """An entity reading two of the table's three columns (never the biography)."""

    id: int
    name: str


NAME_INDEX = QueryHints(indexes=(use_index("ix_qh_authors_name"),))


def sql(statement: ClauseElement, dialect: Dialect) -> str:
    return str(statement.compile(dialect=dialect))


@pytest.mark.parametrize(
    ("dialect", "rendered"),
    [(mysql.dialect(), True), (MariaDBDialect(), True), (postgresql.dialect(), False), (sqlite.dialect(), False)],  # type: ignore[no-untyped-call]
    ids=["mysql", "mariadb", "postgresql", "sqlite"],
)
def test_index_hints_are_sql_on_mysql_and_mariadb_and_nothing_elsewhere(dialect: Dialect, rendered: bool) -> None:
    statement = QueryBuilder(AuthorRow).hints(NAME_INDEX).build()

    assert ("FROM qh_authors USE INDEX (ix_qh_authors_name)" in sql(statement, dialect)) is rendered


def test_projections_and_aggregates_take_index_hints_but_not_entity_shapes() -> None:
    authors = QueryBuilder(AuthorRow)
    projection = authors.select(AuthorRow.name).hints(NAME_INDEX).build()
    aggregate = authors.aggregate(n=Count()).hints(NAME_INDEX).build()

    assert "USE INDEX (ix_qh_authors_name)" in sql(projection, mysql.dialect())
    assert "USE INDEX (ix_qh_authors_name)" in sql(aggregate, mysql.dialect())
    with pytest.raises(ValueError, match="shape entity rows"):
        authors.select(AuthorRow.name).hints(QueryHints(columns=("name",)))
    with pytest.raises(ValueError, match="shape entity rows"):
        authors.aggregate(n=Count()).hints(QueryHints(eager=(selectin("books"),)))


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: IndexHint(()), ValueError, "at least one index"),
        (lambda: QueryHints(indexes=(use_index("a"), use_index("b"))), ValueError, "one index hint per table"),
        (lambda: QueryHints(columns=()), ValueError, "at least one column"),
        (
            lambda: QueryBuilder(AuthorRow).hints(QueryHints(indexes=(use_index("ix_nope"),))).build(),
            ValueError,
            "no index ix_nope",
        ),
        (
            lambda: QueryBuilder(AuthorRow).hints(QueryHints(indexes=(use_index("PRIMARY", table="books"),))).build(),
            ValueError,
            "no table 'books'",
        ),
        (
            lambda: (
                QueryBuilder(BookRow)
                .join(AUTHORS.alias("writer"), BookRow.author_id == AUTHORS.alias("writer").c.id, name="writer")
                .hints(QueryHints(indexes=(use_index("PRIMARY", table="writer"),)))
                .build()
            ),
            TypeError,
            "not a table with indexes",
        ),
        (
            lambda: QueryBuilder(AuthorRow).hints(QueryHints(columns=("nope",))).build(),
            ValueError,
            "no column attribute nope",
        ),
        (
            lambda: QueryBuilder(AuthorRow).hints(QueryHints(eager=(joined("books.nope"),))).build(),
            ValueError,
            "BookRow has no relationship 'nope'",
        ),
        (lambda: columns_except(AuthorRow, "nope"), ValueError, "AuthorRow has no column nope"),
        (lambda: table_select(AUTHORS, QueryHints(eager=(selectin("books"),)), object), ValueError, "no relationships"),
        (lambda: table_select(AUTHORS, QueryHints(columns=("id", "nope")), Author), ValueError, "no column nope"),
        (lambda: table_select(AUTHORS, QueryHints(columns=("id",)), Author), ValueError, "Author reads name"),
    ],
    ids=[
        "empty-index-hint",
        "two-hints-one-table",
        "no-columns",
        "unknown-index",
        "unknown-hint-table",
        "alias-hint-table",
        "unknown-column",
        "unknown-relationship",
        "unknown-left-out-column",
        "repository-eager",
        "repository-unknown-column",
        "repository-leaves-out-a-field",
    ],
)
def test_mistakes_are_refused_before_any_statement(make: object, error: type[Exception], message: str) -> None:
    assert callable(make)
    with pytest.raises(error, match=message):
        make()


def test_a_repository_select_is_built_once_and_leaves_out_only_unread_columns() -> None:
    hints = QueryHints(columns=columns_except(AuthorRow, "biography"), indexes=(use_index("ix_qh_authors_name"),))
    statement = table_select(AUTHORS, hints, Author)

    assert table_select(AUTHORS, hints, Author) is statement
    assert table_select(AUTHORS, NO_HINTS, Author).selected_columns.keys() == AUTHORS.c.keys()
    assert statement.selected_columns.keys() == ["id", "name"]
    assert "FROM qh_authors USE INDEX (ix_qh_authors_name)" in sql(statement, mysql.dialect())


def test_eager_loads_default_to_selectin() -> None:
    assert EagerLoad("books") == selectin("books")
    assert select(AuthorRow).options(*QueryHints(eager=(EagerLoad("books"),)).options(AuthorRow)) is not None
