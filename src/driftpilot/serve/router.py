"""Sticky champion/challenger routing by a hash of the entity id.

An entity's bucket is a uniform number in [0, 1) from a keyed BLAKE2b hash of its id (the
prediction id when a request names no entity), keyed by the canary's id: the same entity
always lands in the same bucket during one canary, so its answers do not flip between models
from one request to the next, and a later canary draws a new cohort. The challenger answers
buckets below the stage's weight, so widening the weight keeps every entity already on the
challenger there. Shadow sampling uses a second, independent hash of the same id.

>>> state_id = "canary-3"
>>> assign("customer-42", 0.25, state_id) == assign("customer-42", 0.25, state_id)
True
>>> assign("customer-42", 0.0, state_id), assign("customer-42", 1.0, state_id)
('champion', 'canary')
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Literal

__all__ = ["assign", "bucket", "in_shadow"]

Route = Literal["champion", "canary"]
_SCALE = float(2**64)


def bucket(key: str, salt: str) -> float:
    """A number in [0, 1), the same for the same ``key`` and ``salt``."""
    digest = blake2b(key.encode(), digest_size=8, key=salt.encode()[:64]).digest()
    return int.from_bytes(digest, "big") / _SCALE


def assign(key: str, weight: float, salt: str) -> Route:
    """``canary`` for a ``weight`` share of keys (sticky), else ``champion``."""
    return "canary" if weight > 0 and bucket(key, salt) < weight else "champion"


def in_shadow(key: str, share: float, salt: str) -> bool:
    """Whether the challenger also scores this request in shadow mode."""
    return share > 0 and bucket(key, salt + "/shadow") < share
