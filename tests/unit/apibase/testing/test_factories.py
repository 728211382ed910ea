"""polyfactory factories build valid widgets and DTOs."""

from __future__ import annotations

import pytest

from apibase.testing.factories import WidgetCreateFactory, WidgetFactory
from apibase.testing.widgets import Widget, WidgetCreate, WidgetRenamed, new_widget

pytestmark = pytest.mark.unit


def test_factories_build_valid_models() -> None:
    for create in WidgetCreateFactory.batch(20):
        assert WidgetCreate.model_validate(create.model_dump()) == create
    for widget in WidgetFactory.batch(20):
        assert widget.deleted_at is None
        assert Widget.model_validate(widget.model_dump()).model_dump() == widget.model_dump()


def test_new_widget_gives_fresh_ids_and_rename_records_an_event() -> None:
    create = WidgetCreateFactory.build()
    first, second = new_widget(create), new_widget(create)
    assert first.id != second.id
    first.rename("renamed")
    (event,) = first.pull_events()
    assert isinstance(event, WidgetRenamed)
    assert (event.old_name, event.new_name, event.aggregate_id) == (create.name, "renamed", str(first.id))
