"""What a previous run left, read to keep its passwords and to say what changed (docs/week-two.md): its
credentials sheet (``sheet``, and what the lab makes of it: ``passwords``), its user-mapping.xml or lab
(``mapping``), and the difference (``changes``)."""

from .changes import Changes, changes
from .mapping import PreviousLab, PreviousRefused, is_user_mapping, previous_lab, read_user_mapping
from .sheet import PreviousSheet, SheetRefused, read_sheet

__all__ = ["Changes", "PreviousLab", "PreviousRefused", "PreviousSheet", "SheetRefused", "changes",
           "is_user_mapping", "previous_lab", "read_sheet", "read_user_mapping"]
