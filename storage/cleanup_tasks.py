"""The Celery task of the document clean-up (storage/cleanup.py), scheduled by beat every hour (queue `bulk`),
and `python -m storage.cleanup_tasks [--apply]`: the same run by hand, a dry run unless told to apply.

Each run opens its own clients on a fresh event loop and closes them (as affairs/import_tasks.py does): the
task is rare, and no loop or connection outlives it. A re-delivered or overlapping run is harmless: every
deletion is claimed atomically first, and what is gone stays gone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from config.settings import Settings, get_settings
from config.wiring import mongo_client, object_store
from notifications.celery_app import app
from storage.cleanup import DocumentCleanup
from storage.document_service import Documents
from storage.documents import DocumentRepository

CLEANUP_TASK = "storage.cleanup_documents"


@app.task(name=CLEANUP_TASK, ignore_result=True, queue="bulk")
def cleanup_documents() -> dict[str, Any]:
    settings = get_settings()
    return asyncio.run(run_cleanup(settings, dry_run=settings.document_cleanup_dry_run))


async def run_cleanup(settings: Settings, *, dry_run: bool, now: datetime | None = None) -> dict[str, Any]:
    mongo, objects = mongo_client(settings), object_store(settings)
    documents = Documents(DocumentRepository(mongo[settings.mongodb_db]), objects, settings.s3_bucket_documents)
    try:
        cleanup = DocumentCleanup(documents, pending_ttl=timedelta(hours=settings.document_pending_ttl_h),
                                  unattached_ttl=timedelta(days=settings.document_unattached_ttl_days))
        report = await cleanup.run(now or datetime.now(UTC), dry_run=dry_run)
        return report.as_dict()
    finally:
        documents.close()
        await mongo.close()
        objects.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apply", action="store_true", help="delete what the report lists (default: report only)")
    args = parser.parse_args()
    report = asyncio.run(run_cleanup(get_settings(), dry_run=not args.apply))
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()


if __name__ == "__main__":
    main()
