"""Receipt recognition: image or PDF bytes in, expense fields with confidences out (no HTTP, no SQL)."""
