"""Sync tests sign many users in: hash their passwords with cheap Argon2 parameters.

Verification reads the parameters from each stored hash, so logins against these users stay cheap too
(including in server subprocesses). Nothing else about authentication changes.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

import api.accounts.passwords as passwords


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
