"""Sync through S3-compatible object storage, and sharing sessions by link.

The local store stays the source of truth and everything works offline; a sync exchanges
what changed since the last one (see ``engine.py`` for a run, ``layout.py`` for what lives in
the bucket, ``merge.py`` for the rules). boto3 is imported only by ``store.py``, inside the
function that connects, so importing this package costs nothing.
"""
