"""Every component id of the app, in one place.

Pattern-matching ids are dicts built by the helpers at the bottom.
"""

from __future__ import annotations

from synanno_dash.core.open_data_form import FIELD

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
MENU_RESET = "menu-reset"  # asks in RESET_CONFIRM, then posts RESET_FORM to /reset
RESET_CONFIRM = "reset-confirm"
RESET_FORM = "reset-form"
SERVER_ERROR = "server-error"

# landing
LANDING_DETECTION = "landing-detection"
LANDING_CORRECTION = "landing-correction"

# open data: the form's fields are declared in ``core.open_data_form``; their ids derive
# from it ("od-" + component), so each is written once.
OPEN_DATA_PREFIX = "od-"


def open_data(field_name: str) -> str:
    """The component id of an Open Data field, by its name in ``core.open_data_form``."""
    return OPEN_DATA_PREFIX + FIELD[field_name].component


OD_WORKFLOW = open_data("workflow")
OD_SOURCE = open_data("source")
OD_TARGET = open_data("target")
OD_NEUROPIL = open_data("neuropil")
OD_TABLE = open_data("table")
OD_SECRETS = open_data("secrets")
OD_JSON_UPLOAD = open_data("session_json")
OD_MODE = open_data("mode")
OD_AXIS_ORDER = open_data("axis_order")
OD_BOX_START = open_data("box_start")
OD_BOX_STOP = open_data("box_stop")
OD_SOURCE_RES = open_data("source_res")
OD_TARGET_RES = open_data("target_res")
OD_TABLE_RES = open_data("table_res")
OD_NEURON_ID = open_data("neuron_id")
OD_CROP_SIZE = open_data("crop_size")
OD_TILES_PER_PAGE = open_data("tiles_per_page")
OD_SWC_UPLOAD = open_data("swc_text")
OD_SWC_UNIT = open_data("swc_unit_nm")
OD_JSON_STATUS = "od-json-status"
OD_VOLUME_PANEL = "od-volume-panel"
OD_NEURON_PANEL = "od-neuron-panel"
OD_NEURON_LIST = "od-neuron-list"
OD_NEURON_LIST_LOAD = "od-neuron-list-load"
OD_NEURON_LIST_STATUS = "od-neuron-list-status"
OD_SUBMIT = "od-submit"
OD_SUBMIT_STATUS = "od-submit-status"
OD_READY = "od-ready"
OD_START = "od-start"
OD_DEMO_ALERT = "od-demo-alert"  # shown when the demo dataset is missing
OD_DEMO_WRITE = "od-demo-write"
# background jobs of Open Data (``ui.jobs`` panels)
OD_SUBMIT_JOB = "od-submit"
OD_NEURONS_JOB = "od-neurons"
OD_DEMO_JOB = "od-demo"
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
REVIEW_PRELOAD = "review-preload"
ENLARGE_MODAL = "enlarge-modal"
ENLARGE_BODY = "enlarge-body"
ENLARGE_GRAPH = "enlarge-graph"
ENLARGE_SLICE = "enlarge-slice"
ENLARGE_OPACITY = "enlarge-opacity"
ENLARGE_INSTANCE = "enlarge-instance"
ENLARGE_INFO = "enlarge-info"
ENLARGE_VIEW_NG = "enlarge-view-ng"
ENLARGE_TYPE = "enlarge-type"  # the synapse type of the enlarged instance
ENLARGE_TYPE_SAVED = "enlarge-type-saved"

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
TILE_RETRY = "tile-retry"
CAT_LABEL = "cat-label"
CAT_CATEGORY = "cat-category"
CAT_CUSTOM = "cat-custom"
CAT_NOTE = "cat-note"
CAT_TYPE = "cat-type"  # a card's synapse type
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


def tile_retry(instance_id: int | object) -> dict:
    return {"type": TILE_RETRY, "index": instance_id}


def pattern(kind: str, instance_id: int | object) -> dict:
    return {"type": kind, "index": instance_id}


# --- Neuroglancer (issue 6) -------------------------------------------------------------
# A Neuroglancer panel inside a view (``ui/ng_panel.py``): pattern ids {"type", "panel"}.
NG_VIEW = "ng-view"  # the "View in NG" button
NG_INSTANCE = "ng-instance"  # store: the instance id to show
NG_2D = "ng-2d"  # the view's own content, hidden while the viewer shows
NG_PANEL = "ng-panel"  # the viewer's iframe with its "Back" button
NG_FRAME = "ng-frame"
NG_BACK = "ng-back"
NG_STATUS = "ng-status"
ENLARGE_PANEL = "enlarge"  # the panel name of the enlarged view

# Open Data: choose a neuron with `n`
OD_CHOOSE_NEURON = "od-choose-neuron"
OD_CHOOSER_STATUS = "od-chooser-status"
OD_CHOOSER_MODAL = "od-chooser-modal"
OD_CHOOSER_FRAME = "od-chooser-frame"
OD_CHOOSER_PICKED = "od-chooser-picked"
OD_CHOOSER_CLOSE = "od-chooser-close"
OD_CHOOSER_POLL = "od-chooser-poll"
OD_CHOOSER_SEEN = "od-chooser-seen"

# /missed: mark missed synapses with `c`
MISSED_CONTEXT = "missed-context"
MISSED_VIEWER = "missed-viewer"
MISSED_FRAME = "missed-frame"
MISSED_POLL = "missed-poll"
MISSED_COUNT = "missed-count"
MISSED_LIST = "missed-list"
MISSED_DONE = "missed-done"
MISSED_CANCEL = "missed-cancel"
MISSED_QUEUE = "missed-queue"
MISSED_STEP = "missed-step"
MISSED_REVIEW = "missed-review"
MISSED_REVIEW_TITLE = "missed-review-title"
MISSED_REVIEW_INFO = "missed-review-info"
MISSED_BOX_START = ("missed-x-start", "missed-y-start", "missed-z-start")
MISSED_BOX_STOP = ("missed-x-stop", "missed-y-stop", "missed-z-stop")
MISSED_ERROR = "missed-error"
MISSED_PREVIEW = "missed-preview"
MISSED_SAVE = "missed-save"
MISSED_SKIP = "missed-skip"
MISSED_REDIRECT = "missed-redirect"


def ng(kind: str, panel: str | object) -> dict:
    """A component of the Neuroglancer panel named ``panel`` (``MATCH``/``ALL`` allowed)."""
    return {"type": kind, "panel": panel}


# --- Neuron overview and mini-map (issue 5) ---------------------------------------------
NEURON_GRAPH = "neuron-graph"  # the 3D overview (/neuron)
NEURON_REDIRECT = "neuron-redirect"
NEURON_PROGRESS = "neuron-progress"
NEURON_COMPARTMENTS = "neuron-compartments"  # the list of compartments with their progress
NEURON_START = "neuron-start"
MINIMAP = "review-minimap"  # the compact overview beside the review grid
REVIEW_MISSED = "review-missed"  # "Look for missed synapses here" at a compartment's end


# --- Error Correction: /draw, /draw/instance, /export-draw (issue 4) -----------------------
DRAW_LIST = "draw-list"  # the tiles of the instances to fix
DRAW_SLICES = "draw-slices"  # slices per drawing (default 16)
DRAW_SHOW_ALL = "draw-show-all"
DRAW_SUBMIT = "draw-submit"  # "Submit and Finish"
DRAW_REDIRECT = "draw-redirect"
DRAW_NOTICE = "draw-notice"
DRAW_ADD_OPEN = "draw-add-open"  # the "Add New Instance" tile
DRAW_ADD_MODAL = "draw-add-modal"
DRAW_ADD_POS = ("draw-add-x", "draw-add-y", "draw-add-z")
DRAW_ADD_NEARBY = "draw-add-nearby"  # which instance's enlarged view to click in
DRAW_ADD_GRAPH = "draw-add-graph"
DRAW_ADD_CLICK = "draw-add-click"  # a click in DRAW_ADD_GRAPH (sent by draw.js)
DRAW_ADD_REVIEW = "draw-add-review"
DRAW_ADD_BOX_START = ("draw-add-x0", "draw-add-y0", "draw-add-z0")
DRAW_ADD_BOX_STOP = ("draw-add-x1", "draw-add-y1", "draw-add-z1")
DRAW_ADD_BOX_INFO = "draw-add-box-info"
DRAW_ADD_SAVE = "draw-add-save"
DRAW_ADD_ERROR = "draw-add-error"
DRAW_ADD_NG = "draw-add-ng"  # link to /missed?instance=N
DI_META = "di-meta"  # the drawing view: instance, box, display size
DI_GRAPH = "di-graph"
DI_WRAPPER = "di-wrapper"
DI_CLICK = "di-click"  # a click in DI_GRAPH (sent by draw.js)
DI_STROKE = "di-stroke"  # the curve being drawn: control points or a freehand path
DI_SLICE = "di-slice"
DI_SLICE_LABEL = "di-slice-label"
DI_STRIP = "di-strip"  # one badge per slice: edited / saved / current
DI_TOOL = "di-tool"
DI_INTERP = "di-interp"
DI_OPACITY = "di-opacity"
DI_FILL = "di-fill"
DI_REVISE = "di-revise"
DI_SAVE = "di-save"
DI_CLEAR = "di-clear"
DI_UNDO = "di-undo"
DI_REDO = "di-redo"
DI_POINT_BACK = "di-point-back"
DI_DISCARD = "di-discard"
DI_STATUS = "di-status"
DI_MARKERS = "di-markers"
# the drawing view's mask checks and orthogonal views (ui/draw_checks.py, ui/draw_ortho.py)
DI_CHECKS = "di-checks"  # the list of the current instance's mask issues
DI_CHECKS_CLEAN = "di-checks-clean"
DI_CHECK_ITEM = "di-check"  # pattern type: one listed issue, a click jumps to its slice
DI_CHECK_JUMPS = "di-check-jumps"  # the slice index of each listed issue
DI_ORTHO_XY = "di-ortho-xy"  # [x, y] where the y-z and x-z views cut (target voxels)
DI_XZ = "di-xz"
DI_YZ = "di-yz"
DI_XZ_CLICK = "di-xz-click"  # a click in DI_XZ (sent by draw.js)
DI_YZ_CLICK = "di-yz-click"
DI_AUTO = "di-auto"  # Auto (U-Net): complete the mask from the drawn slices (a job)
DI_AUTO_JOB = "draw-auto"  # its job panel's name
DI_PROPOSAL = "di-proposal"  # the Auto proposal (packed slices) until accepted
DI_PROPOSAL_INFO = "di-proposal-info"
DI_ACCEPT_ALL = "di-accept-all"
DI_ACCEPT_SLICE = "di-accept-slice"
EXD_JSON_BUTTON = "exd-json-button"
EXD_JSON = "exd-json"
EXD_ZIP_BUTTON = "exd-zip-button"
EXD_ZIP = "exd-zip"
EXD_LAYER_BUTTON = "exd-layer-button"
EXD_LAYER_STATUS = "exd-layer-status"
EXD_TABLE_BUTTON = "exd-table-button"
EXD_TABLE_STATUS = "exd-table-status"
EXD_TABLE = "exd-table"
EXD_NEW = "exd-new"
EXD_CHECK_BUTTON = "exd-check-button"
EXD_CHECK_STATUS = "exd-check-status"

# ---- Open Data: SWC skeleton upload (neuron-centric) ----
OD_SWC_STATUS = "od-swc-status"


# ---- background jobs (``ui.jobs``): one panel per job, its parts named by ``job`` ----
JOB_PARTS = ("panel", "running", "bar", "text", "cancel", "status")


def job(name: str, part: str) -> str:
    """The id of a part (``JOB_PARTS``) of the job panel ``name``."""
    if part not in JOB_PARTS:
        raise ValueError(f"a job panel has no part {part!r}; parts: {JOB_PARTS}")
    return f"job-{name}-{part}"
# --- Statistics: /stats (issue 11) ----------------------------------------------------------
NAV_STATS = "nav-stats"  # the navbar's link to /stats
STATS_SCOPE = "stats-scope"  # this session / every session on this dataset
STATS_REFRESH = "stats-refresh"
STATS_REPORT_BUTTON = "stats-report-button"  # "Download report"
STATS_REPORT = "stats-report"  # its dcc.Download
STATS_JOB = "stats-job"  # store: the token of the computation shown or running
STATS_POLL = "stats-poll"  # interval, running only while a computation runs
STATS_RUNNING = "stats-running"  # "Computing ..." with its Cancel button
STATS_RUNNING_TEXT = "stats-running-text"
STATS_CANCEL = "stats-cancel"
STATS_BODY = "stats-body"  # the figures
STATS_NO_ACCURACY = "stats-no-accuracy"  # why accuracy is not shown (no ground truth...)
STATS_REDIRECT = "stats-redirect"  # a compartment bar's click opens its first grid page
STATS_GRAPH = "stats-graph"  # pattern {"type", "key"}: a panel's figure
STATS_TABLE = "stats-table"  # pattern: a panel's table of numbers
STATS_CSV = "stats-csv"  # pattern: its "Download CSV" button
STATS_CSV_DOWNLOAD = "stats-csv-download"  # pattern: its dcc.Download
STATS_ENLARGE = "stats-enlarge"  # pattern {"type", "index"}: open an instance enlarged
NEURON_COLOR_BY = "neuron-color-by"  # /neuron: colour compartments by error rate
NEURON_COLOR_SCALE = "neuron-color-scale"  # its scale, shown while it is on


def stats_panel(kind: str, key: str | object) -> dict:
    """A component of the statistics panel ``key`` (``MATCH``/``ALL`` allowed)."""
    return {"type": kind, "key": key}


def stats_panel_div(key: str) -> str:
    """The plain id of a statistics panel's block (browser tests find its figure there)."""
    return f"stats-panel-{key}"


# --- Exports for connectome tools, on both Export views (issue 13) ---------------------------
FIELD_EXPORT_FORMATS = ("ng-annotations", "cave", "connectivity", "ng-state")


def field_export(fmt: str, part: str) -> str:
    """The id of a part ("button", "download") of the export ``fmt`` (its job: ``fx-<fmt>``)."""
    if fmt not in FIELD_EXPORT_FORMATS or part not in ("button", "download"):
        raise ValueError(f"no field export part {fmt!r}/{part!r}")
    return f"fx-{fmt}-{part}"


# --- Open Data's Import predictions panel (issue 13) ------------------------------------------
IMP_BUTTON = "imp-button"
IMP_JOB = "imp"  # its job panel (``ui.jobs``)
IMP_RESULT = "imp-result"  # what was imported, after the job


def import_field(name: str) -> str:
    """A field of the panel (``core.import_form.IMPORT_FIELDS``): "imp-" + its name."""
    return "imp-" + name.replace("_", "-")
