"""Bounds on what a user or a file may ask of the server: one home for every limit.

Every input is checked against these before it reaches a loop or an allocation whose size
it controls. Each constant says its unit; messages quote them, so changing one here changes
what users are told.
"""

from __future__ import annotations

MAX_UINT64 = 2**64 - 1  # neuron ids are unsigned 64-bit integers
MAX_INT64 = 2**63 - 1  # materialization indexes are stored as signed 64-bit integers

# Voxel coordinates (target voxels, absolute): beyond this no volume we read reaches.
MAX_COORDINATE_VX = 2**31 - 1

# One instance's crop (target voxels). A page holds at most 24 such crops; with the EM at up
# to twice the target's x/y resolution (4 EM voxels per target voxel, 1 byte each) plus the
# cleft ids (up to 8 bytes) and encoded slices, 24 crops of this size stay near 0.5 GiB.
MAX_CROP_SIDE_VX = 1024
MAX_CROP_VOXELS = 2**20  # e.g. 256 x 256 x 16 or 128 x 128 x 64
# The decoded crops of one page: tiles x (EM voxels x EM bytes + cleft voxels x cleft bytes),
# EM voxels counted at the source resolution (a finer EM holds more voxels per crop). Open
# Data refuses a crop size and tiles per page above it, naming the largest crop that fits.
PAGE_CROP_BUDGET_BYTES = 512 * 1024**2

# Open Data text fields (characters): a path or URL (Linux PATH_MAX), anything else.
MAX_PATH_CHARS = 4096
MAX_FIELD_CHARS = 200
MAX_REVIEWER_CHARS = 128  # a reviewer's name (the store's column holds 128)
MAX_NEURON_ID_DIGITS = 20  # 2^64 - 1 = 18446744073709551615 has 20 digits

# Session JSON: the uploaded text, its nesting, its records and their free text.
MAX_SESSION_JSON_BYTES = 64 * 1024**2  # about 50,000 instances of our records
MAX_JSON_NESTING = 8  # ours and the original's need 4 ({Metadata: [{Padding: [[...]]}]})
MAX_SESSION_RECORDS = 200_000  # instances one session holds (as Open Data allows)
MAX_NUMBER_DIGITS = 40  # a JSON number longer than this is refused before it is converted
MAX_TEXT_CHARS = 10_000  # a note, a custom category or a stage time
MAX_PAGE = 10_000_000  # pages a restored session may point at (more than any session has)

# SWC skeletons.
MAX_SWC_BYTES = 64 * 1024**2
MAX_SWC_LINES = 2_000_000  # comment lines included; a node is one line
MAX_SWC_COORDINATE = 1e15  # |x|, |y|, |z|, radius in SWC units (nm at most: 1,000 km)

# HTTP requests (Flask MAX_CONTENT_LENGTH); configurable with SYNANNO_MAX_UPLOAD_BYTES.
DEFAULT_MAX_UPLOAD_BYTES = 96 * 1024**2


def upload_file_limit(max_request_bytes: int, kind_limit: int) -> int:
    """The largest file a ``dcc.Upload`` may send: base64 makes it 4/3 larger in the request,
    which also carries the callback's other inputs (64 kB are kept for them)."""
    return max(1, min(kind_limit, (max_request_bytes - 64 * 1024) * 3 // 4))


def megabytes(n_bytes: int) -> str:
    """``"64 MB"``: sizes in messages, in MiB rounded to one decimal where needed."""
    value = n_bytes / 1024**2
    return f"{value:.0f} MB" if value >= 10 or value == int(value) else f"{value:.1f} MB"
