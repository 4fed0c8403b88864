"""The product hashes passwords with Argon2id at argon2-cffi's recommended parameters."""

from __future__ import annotations

import subprocess
import sys

from tests.faults.cluster import ROOT


def test_default_parameters_are_the_recommended_ones() -> None:
    code = (
        "from argon2 import PasswordHasher, extract_parameters\n"
        "from api.accounts.passwords import hash_password, verify_password\n"
        "h = hash_password('correct horse')\n"
        "p, d = extract_parameters(h), PasswordHasher()\n"
        "assert h.startswith('$argon2id$')\n"
        "assert (p.time_cost, p.memory_cost, p.parallelism) == (d.time_cost, d.memory_cost, d.parallelism)\n"
        "assert verify_password(h, 'correct horse') and not verify_password(h, 'wrong')\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
