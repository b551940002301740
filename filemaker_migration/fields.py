"""Field names on the FileMaker layouts, in one place (no Django imports).

Defaults are the plan's names; every one can be overridden (setting FM_FIELDS,
a JSON object keyed by the attribute names below).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ImageFields:
    """Fields of the images layout (API_Images)."""

    id: str = "id"
    contact_id: str = "id_Contact"
    date: str = "date"
    type: str = "Type"
    # Container fields, best quality first: the waterfall's order.
    containers: tuple[str, ...] = (
        "image_Full",
        "image_Ex_large",
        "image_large",
        "image_medium",
        "image_small",
    )
    # The FileMaker thumbnail; used only when explicitly asked for, last.
    thumbnail: str = "Recovered"
    filename: str = "Name of file"
    filesize: str = "filesize"
    imported: str = "imported"
    recid: str = "recid"
    export_date: str = "NexusExportDate"
    # Calculation field GetContainerAttribute(<md5_of>; "MD5"), when on the layout.
    md5: str = "image_Full_MD5"
    md5_of: str = "image_Full"
    # Optional receipt fields written back with the export date, when on the layout.
    receipt_key: str = "NexusS3Key"
    receipt_sha256: str = "NexusSHA256"
    created_by: str = "creationAccountName"
    created_at: str = "creationTimestamp"
    modified_by: str = "modificationAccountName"
    modified_at: str = "modificationTimestamp"

    @classmethod
    def with_overrides(cls, overrides: dict[str, Any]) -> ImageFields:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(
                f"FM_FIELDS: unknown key(s) {', '.join(sorted(unknown))}; "
                f"known keys: {', '.join(sorted(known))}"
            )
        values = dict(overrides)
        if "containers" in values:
            values["containers"] = tuple(values["containers"])
        return dataclasses.replace(cls(), **values)


@dataclass(frozen=True)
class ContactFields:
    """Fields of the patients layout (API_Contacts)."""

    id: str = "id"
    first_name: str = "First Name"
    last_name: str = "Last Name"
    date_of_birth: str = "Date of Birth"
