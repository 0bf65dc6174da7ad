"""Setting an instance's synapse type (the enlarged view, Categorize): one logged, undoable
edit, offered from the configured list (``Settings.synapse_types``) plus the instance's own
type (a table may name others)."""

from __future__ import annotations

from synanno_dash.core.instances import Instance
from synanno_dash.core.synapse_types import type_choices
from synanno_dash.data.store_rows import StoreError
from synanno_dash.services.session import Session


def offered(session: Session, item: Instance) -> list[str]:
    """The types ``item`` may be given, in the order they are shown."""
    return type_choices(session.settings.synapse_types, item.synapse.synapse_type)


def set_type(session: Session, instance_id: int, synapse_type: str | None) -> Instance | None:
    """Give the instance ``synapse_type`` (``None`` clears it): one logged, undoable edit;
    ``None`` (nothing written) when it already has it. A type that is not offered is refused
    (``StoreError``, shown by name)."""
    item = session.store.instance(session.session_id, instance_id)
    if item.synapse.synapse_type == synapse_type:
        return None
    if synapse_type is not None and synapse_type not in offered(session, item):
        raise StoreError(
            f"{synapse_type!r} is not a synapse type of this server: choose one of "
            f"{', '.join(offered(session, item))} (SYNANNO_SYNAPSE_TYPES sets the list)."
        )
    return session.store.edit_if_changed(
        session.session_id, instance_id, synapse_type=synapse_type
    )
