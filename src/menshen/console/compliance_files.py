"""A signed compliance report as a browser download, the same files ``menshen report`` writes.

The JSON report is its own signed envelope (RFC 7515 JWS over the content hash) and goes out
as is. HTML, PDF and OSCAL come with a detached ``FILE.sig`` signing the file's own bytes
too, so both go out in one zip (PKWARE APPNOTE 6.3), stamped with the report's time.
The download may never run as a page of the console's origin: it is an attachment under a
sandboxing Content Security Policy.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

from starlette.responses import Response

from menshen.compliance.report.service import Format, RenderedReport

__all__ = ["DOWNLOAD_HEADERS", "download", "file_name"]

DOWNLOAD_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; sandbox",
    "x-content-type-options": "nosniff",
}


def file_name(made: RenderedReport, tenant_id: str, now: datetime) -> str:
    """``TENANT-FRAMEWORK-LANG-YYYYmmdd-HHMMSS.EXT`` (ids are plain ASCII names)."""
    record = made.record
    ext = "oscal.json" if made.format is Format.OSCAL else made.format.value
    return f"{tenant_id}-{record.framework}-{record.lang}-{now:%Y%m%d-%H%M%S}.{ext}"


def download(made: RenderedReport, tenant_id: str, now: datetime) -> Response:
    """The signed report as a file: JSON as is, the others zipped with their ``.sig``."""
    name = file_name(made, tenant_id, now)
    if made.detached is None:
        media, body, sent = "application/json", made.body, name
    else:
        buffer = io.BytesIO()
        stamp = now.timetuple()[:6]
        with zipfile.ZipFile(buffer, "w") as bundle:
            for member, data in ((name, made.body), (f"{name}.sig", made.detached)):
                info = zipfile.ZipInfo(member, stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, data)
        media, body, sent = "application/zip", buffer.getvalue(), f"{name.split('.', 1)[0]}.zip"
    headers = {**DOWNLOAD_HEADERS, "content-disposition": f'attachment; filename="{sent}"'}
    return Response(body, media_type=media, headers=headers)
