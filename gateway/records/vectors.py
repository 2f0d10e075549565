"""Text vectors as the records store keeps them: little-endian float32 bytes (`TextVector`).

float32, not float16: a vector read back must be bit-for-bit the one the encoder gave, so a
retrain on stored vectors builds the artifact a cold retrain would.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gateway.records.base import TextVector

_DTYPE = np.dtype("<f4")


def text_vector(key: str, encoder: str, vector: npt.ArrayLike) -> TextVector:
    """The stored form of one (d,) vector of the text whose `text_hash` is `key`."""
    row = np.ascontiguousarray(vector, dtype=_DTYPE).reshape(-1)
    return TextVector(key, encoder, int(row.shape[0]), row.tobytes())


def as_array(stored: TextVector) -> npt.NDArray[np.float32]:
    """The (dim,) float32 vector of a stored one (a ValueError if its bytes are not dim wide)."""
    row = np.frombuffer(stored.vector, dtype=_DTYPE)
    if row.shape[0] != stored.dim:
        raise ValueError(f"text vector {stored.key} of {stored.encoder!r}: {row.shape[0]} values "
                         f"stored, {stored.dim} expected")
    return row.astype(np.float32)
