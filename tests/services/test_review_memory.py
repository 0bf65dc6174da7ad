"""Crops are kept only for instances that need fixing; everything else is evictable cache."""

from __future__ import annotations

from pathlib import Path

from synanno_dash.core.labels import Label
from synanno_dash.services import review
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.services.session import open_session
from synanno_dash.settings import Settings


def test_flagged_instances_keep_their_crops(data_dir: Path, tmp_path: Path, demo_info) -> None:  # type: ignore[no-untyped-def]
    context = AppContext.create(Settings(data_dir=data_dir, cache_bytes=8 * 1024**2,
                                         database_url=f"sqlite:///{tmp_path / 's.db'}"))
    form = OpenDataForm(source=demo_info.source_url, target=demo_info.target_url,
                        table=demo_info.table_url, crop_size="64, 64, 6", tiles_per_page="24")
    assert prepare_session(context, "s", form).ok
    page = review.load_page(open_session(context, "s"), 1)
    volumes = context.volumes.get(page.config)
    flagged, plain = page.instances[2], page.instances[3]
    review.cycle_label(open_session(context, "s"), flagged.instance_id)  # -> incorrect: kept
    context.wait_for_background()  # the crop bookkeeping runs after the click's answer
    keys = volumes._crop_keys(flagged.bbox_target_vx)
    assert all(volumes.cache.is_kept(k) for k in keys)
    assert not any(volumes.cache.is_kept(k) for k in volumes._crop_keys(plain.bbox_target_vx))
    # Reviewing many more pages evicts ordinary crops but not the kept ones.
    for number in range(2, 12):
        review.load_page(open_session(context, "s"), number)
    assert all(volumes.cache.is_kept(k) for k in keys)
    assert plain.bbox_target_vx and volumes._crop_keys(plain.bbox_target_vx)[0] not in volumes.cache
    stats = volumes.cache.stats()
    assert stats.nbytes <= stats.max_bytes
    # Back to correct: the crops become ordinary cache again.
    review.set_label(open_session(context, "s"), flagged.instance_id, Label.CORRECT)
    context.wait_for_background()
    assert not any(volumes.cache.is_kept(k) for k in keys)
