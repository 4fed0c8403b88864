"""Photo evidence and receipts over HTTP: tus and one-shot uploads, renditions, verification.

The pure pieces (sniffing, validation, watermark, provenance, fingerprints, storage) live in the
top-level ``media`` package; this package wires them to the database, the sync writer, the job
queue and Litestar.
"""
