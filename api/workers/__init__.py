"""Background work: the loops that run beside the HTTP server.

``ingest`` follows Orthanc's change feed into the index (one leader per deployment),
``outbox`` delivers the outbox rows by C-STORE, ``sr_drafts`` turns SR documents saved by
other viewers into drafts on the patient's cases, ``priors`` fetches prior studies from the
hospital PACS.
"""
