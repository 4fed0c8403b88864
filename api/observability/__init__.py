"""Request ids and access logs, metrics, and the health and readiness endpoints."""
