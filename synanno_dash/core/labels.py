"""Review labels and the error taxonomy.

A click cycles correct -> incorrect -> unsure -> correct (the original SynAnno's order).
Whether a tile was *seen* is tracked apart from its label, so progress stays honest:
every instance starts ``correct`` but unseen.
"""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    UNSURE = "unsure"

    @property
    def next(self) -> Label:
        order = _CYCLE
        return order[(order.index(self) + 1) % len(order)]

    @property
    def needs_fixing(self) -> bool:
        return self is not Label.CORRECT

    @classmethod
    def parse(cls, value: str) -> Label:
        """Accept our values and the original's capitalised ones (``Correct``...)."""
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(
                f"unknown label {value!r}: expected one of correct, incorrect, unsure"
            ) from None


_CYCLE = (Label.CORRECT, Label.INCORRECT, Label.UNSURE)


class Category(StrEnum):
    FALSE_POSITIVE = "false_positive"
    POORLY_ALIGNED = "poorly_aligned"
    MERGED = "merged"
    WRONG_DIRECTION = "wrong_direction"
    PRE_MARKER = "pre_marker"
    POST_MARKER = "post_marker"
    IMAGING_ARTIFACT = "imaging_artifact"
    FALSE_NEGATIVE = "false_negative"
    CUSTOM = "custom"


CATEGORY_TITLES: dict[Category, str] = {
    Category.FALSE_POSITIVE: "False positive",
    Category.POORLY_ALIGNED: "Poorly aligned mask",
    Category.MERGED: "Merged (one mask over two synapses)",
    Category.WRONG_DIRECTION: "Wrong direction (pre/post swapped)",
    Category.PRE_MARKER: "Missing or wrong pre marker",
    Category.POST_MARKER: "Missing or wrong post marker",
    Category.IMAGING_ARTIFACT: "Imaging artifact",
    Category.FALSE_NEGATIVE: "False negative",
    Category.CUSTOM: "Custom",
}

# The original SynAnno wrote these values into "Error_Description".
_ORIGINAL_TO_CATEGORY: dict[str, Category] = {
    "falsepositive": Category.FALSE_POSITIVE,
    "badfit": Category.POORLY_ALIGNED,
    "polarityswitch": Category.WRONG_DIRECTION,
    "false negative": Category.FALSE_NEGATIVE,
    "falsenegative": Category.FALSE_NEGATIVE,
}
_CATEGORY_TO_ORIGINAL: dict[Category, str] = {
    Category.FALSE_POSITIVE: "falsePositive",
    Category.POORLY_ALIGNED: "badFit",
    Category.WRONG_DIRECTION: "polaritySwitch",
    Category.FALSE_NEGATIVE: "False Negative",
}


def category_from_original(value: str | None) -> tuple[Category | None, str]:
    """Map an original ``Error_Description`` onto (category, custom text).

    ``None``/``"None"``/empty means no category. Our own category values and titles are
    accepted too; anything else is a custom category carrying its text.
    """
    text = "" if value is None else str(value).strip()
    if text == "" or text.lower() == "none":
        return (None, "")
    key = text.lower()
    if key in _ORIGINAL_TO_CATEGORY:
        return (_ORIGINAL_TO_CATEGORY[key], "")
    for category, title in CATEGORY_TITLES.items():
        if key in (category.value, title.lower()) and category is not Category.CUSTOM:
            return (category, "")
    return (Category.CUSTOM, text)


def category_to_original(category: Category | None, custom_text: str = "") -> str:
    """The ``Error_Description`` value the original SynAnno understands."""
    if category is None:
        return "None"
    if category is Category.CUSTOM:
        return custom_text or "Custom"
    return _CATEGORY_TO_ORIGINAL.get(category, CATEGORY_TITLES[category])
