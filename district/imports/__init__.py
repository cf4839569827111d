"""Imports of real data into the district: the 民政 persons list and the 医保 fee rows.

Each file is imported whole or not at all, in one transaction, with the changes counters pull;
docs/data-import.md is the data contract. No Qt and no network here: `python -m district
import` (district.imports.command) and the seed call these functions.
"""

from district.imports.errors import FileRejected, ImportRejected, Rejection
from district.imports.fees import import_fees
from district.imports.outcome import ImportResult, Progress
from district.imports.persons import import_persons

__all__ = ["FileRejected", "ImportRejected", "ImportResult", "Progress", "Rejection",
           "import_fees", "import_persons"]
