"""Which secret key made this portal's feed tokens.

Feed URLs are derived from ``SECRET_KEY``: a process started with another key (a second host
without the key, a restore without the key file) would turn every calendar subscription into a
404 without a word. The database and every export therefore remember a *fingerprint* of the key,
from which the key cannot be recovered but which tells which key to bring.
"""

from __future__ import annotations

import hashlib

FINGERPRINT_PREFIX = "sha256:"
# Domain-separated, so the fingerprint is of no use as a hash of the key anywhere else.
_CONTEXT = b"oncall-portal secret key fingerprint\x00"


def secret_key_fingerprint(key: str) -> str:
    """A short, stable, one-way name for ``key``: "sha256:" and 16 hex digits."""
    digest = hashlib.sha256(_CONTEXT + key.encode()).hexdigest()
    return FINGERPRINT_PREFIX + digest[:16]
