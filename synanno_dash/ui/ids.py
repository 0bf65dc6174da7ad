"""Every component id of the app, in one place.

Pattern-matching ids are dicts built by the helpers at the bottom.
"""

from __future__ import annotations

# shell
URL = "url"
SESSION_NOTICE = "session-notice"
NAV_HOME = "nav-home"
NAV_HELP = "nav-help"
NAV_MENU = "nav-menu"
HOME_CONFIRM = "home-confirm"
HOME_REDIRECT = "home-redirect"
HELP_MODAL = "help-modal"
HELP_BODY = "help-body"
MENU_MODAL = "menu-modal"
SERVER_ERROR = "server-error"

# landing
LANDING_DETECTION = "landing-detection"
LANDING_CORRECTION = "landing-correction"

# open data
OD_WORKFLOW = "od-workflow"
OD_SOURCE = "od-source"
OD_TARGET = "od-target"
OD_NEUROPIL = "od-neuropil"
OD_TABLE = "od-table"
OD_SECRETS = "od-secrets"
OD_JSON_UPLOAD = "od-json-upload"
OD_JSON_STATUS = "od-json-status"
OD_MODE = "od-mode"
OD_VOLUME_PANEL = "od-volume-panel"
OD_NEURON_PANEL = "od-neuron-panel"
OD_AXIS_ORDER = "od-axis-order"
OD_BOX_START = "od-box-start"
OD_BOX_STOP = "od-box-stop"
OD_SOURCE_RES = "od-source-res"
OD_TARGET_RES = "od-target-res"
OD_TABLE_RES = "od-table-res"
OD_NEURON_ID = "od-neuron-id"
OD_NEURON_LIST = "od-neuron-list"
OD_NEURON_LIST_LOAD = "od-neuron-list-load"
OD_NEURON_LIST_STATUS = "od-neuron-list-status"
OD_CROP_SIZE = "od-crop-size"
OD_TILES_PER_PAGE = "od-tiles-per-page"
OD_SUBMIT = "od-submit"
OD_SUBMIT_STATUS = "od-submit-status"
OD_START = "od-start"
OD_FEEDBACK_SUFFIX = "-feedback"


def feedback(field_id: str) -> str:
    """The id of the message under a form field."""
    return field_id + OD_FEEDBACK_SUFFIX


# review grid
REVIEW_GRID = "review-grid"
REVIEW_PREV = "review-prev"
REVIEW_NEXT = "review-next"
REVIEW_PAGE_LABEL = "review-page-label"
REVIEW_PROGRESS = "review-progress"
REVIEW_OPACITY = "review-opacity"
REVIEW_OVERLAY = "review-overlay"
REVIEW_UNDO = "review-undo"
REVIEW_REDO = "review-redo"
REVIEW_LABEL_REQUEST = "review-label-request"
REVIEW_NOTICE = "review-notice"
REVIEW_TO_CATEGORIZE = "review-to-categorize"
REVIEW_PAGE_STORE = "review-page-store"
REVIEW_REDIRECT = "review-redirect"
ENLARGE_MODAL = "enlarge-modal"
ENLARGE_BODY = "enlarge-body"
ENLARGE_GRAPH = "enlarge-graph"
ENLARGE_SLICE = "enlarge-slice"
ENLARGE_OPACITY = "enlarge-opacity"
ENLARGE_INSTANCE = "enlarge-instance"
ENLARGE_INFO = "enlarge-info"
ENLARGE_VIEW_NG = "enlarge-view-ng"

# categorize and export
CAT_CARDS = "cat-cards"
CAT_SUBMIT = "cat-submit"
CAT_CONFIRM_DISCARD = "cat-confirm-discard"
CAT_REDIRECT = "cat-redirect"
CAT_NOTICE = "cat-notice"
EXPORT_DOWNLOAD_BUTTON = "export-download-button"
EXPORT_DOWNLOAD = "export-download"
EXPORT_REDRAW = "export-redraw"
EXPORT_NEW = "export-new"

# pattern-matching id types
TILE = "tile"
TILE_VIEW = "tile-view"
TILE_RANGE = "tile-range"
TILE_ENLARGE = "tile-enlarge"
CAT_LABEL = "cat-label"
CAT_CATEGORY = "cat-category"
CAT_CUSTOM = "cat-custom"
CAT_NOTE = "cat-note"
CAT_ENLARGE = "cat-enlarge"
CAT_CARD = "cat-card"


def tile(instance_id: int | object) -> dict:
    return {"type": TILE, "index": instance_id}


def tile_view(instance_id: int | object) -> dict:
    return {"type": TILE_VIEW, "index": instance_id}


def tile_range(instance_id: int | object) -> dict:
    return {"type": TILE_RANGE, "index": instance_id}


def tile_enlarge(instance_id: int | object) -> dict:
    return {"type": TILE_ENLARGE, "index": instance_id}


def pattern(kind: str, instance_id: int | object) -> dict:
    return {"type": kind, "index": instance_id}


# --- Neuron overview and mini-map (issue 5) ---------------------------------------------
NEURON_GRAPH = "neuron-graph"  # the 3D overview (/neuron)
NEURON_REDIRECT = "neuron-redirect"
NEURON_PROGRESS = "neuron-progress"
NEURON_COMPARTMENTS = "neuron-compartments"  # the list of compartments with their progress
NEURON_START = "neuron-start"
MINIMAP = "review-minimap"  # the compact overview beside the review grid
REVIEW_MISSED = "review-missed"  # "Look for missed synapses here" at a compartment's end
