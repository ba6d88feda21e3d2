"""RFC 9162 Merkle trees for batched statements: hashing, audit paths and their check.

A site's front may ask the GMLC for one statement covering many TLS sessions: it puts the
session hashes of a short window into a Merkle tree, sends the root as the SLIR's
``salve:session_hash`` with ``salve:batch_size``, and hands every client the one statement
plus that client's inclusion proof. Hashing follows RFC 9162 §2.1 exactly::

    leaf hash  = SHA-256(0x00 || session_hash)
    node hash  = SHA-256(0x01 || left || right)
    MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n

so a tree of n leaves is never padded and a leaf can never pass for a node (the
0x00/0x01 prefixes). An inclusion proof is the RFC 9162 §2.1.3.1 audit path, ordered from
the leaf up; :func:`verify_inclusion` is the §2.1.3.2 algorithm, with the proof length
checked against the one the tree size implies.

The client checks the proof against the size the GMLC *signed* (``bsz``), never a size the
front chose alone: a proof is only as good as the size it is checked against.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from mlp.errors import MlpError

__all__ = [
    "HASH_LENGTH",
    "MAX_BATCH_SIZE",
    "InclusionProof",
    "MerkleProofError",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "verify_inclusion",
]

HASH_LENGTH: Final = 32
MAX_BATCH_SIZE: Final = 65536
"""Most leaves in one batch (the ``salve:batch_size`` and ``bsz`` range is 1-65,536)."""
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


class MerkleProofError(MlpError):
    """An inclusion proof that does not lead from the leaf to the root."""


def leaf_hash(entry: bytes) -> bytes:
    """The RFC 9162 leaf hash of one entry (a session hash): SHA-256(0x00 || entry)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Where one leaf sits in a tree, and the sibling hashes that lead to the root.

    Attributes:
        index: The leaf's 0-based position.
        size: How many leaves the tree has.
        path: The audit path, from the leaf's sibling up to the root's child.

    Raises:
        ValueError: ``size`` outside 1-65,536, ``index`` outside the tree, or a path
            element that is not 32 bytes.
    """

    index: int
    size: int
    path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        for name, value in (("index", self.index), ("size", self.size)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer")
        if not 1 <= self.size <= MAX_BATCH_SIZE:
            raise ValueError(f"size must be 1-{MAX_BATCH_SIZE}, not {self.size}")
        if not 0 <= self.index < self.size:
            raise ValueError(f"index {self.index} is outside a tree of {self.size} leaves")
        path = tuple(self.path)
        if not all(isinstance(h, bytes) and len(h) == HASH_LENGTH for h in path):
            raise ValueError(f"every path element must be {HASH_LENGTH} bytes")
        object.__setattr__(self, "path", path)


def _expected_path_length(index: int, size: int) -> int:
    # The §2.1.3.2 walk consumes one path element per level where the leaf's subtree
    # has a sibling; counting those levels gives the only valid length.
    length = 0
    fn, sn = index, size - 1
    while sn > 0:
        if fn % 2 == 1 or fn != sn:
            length += 1
        fn >>= 1
        sn >>= 1
    return length


def verify_inclusion(entry: bytes, proof: InclusionProof, root: bytes) -> None:
    """Check that ``entry`` is leaf ``proof.index`` of the tree of ``proof.size`` with ``root``.

    This is RFC 9162 §2.1.3.2, plus a check that the path has exactly the length the
    index and size imply.

    Args:
        entry: The leaf's data (the verifier's own session hash), not its leaf hash.
        proof: The inclusion proof, with the size the statement signed.
        root: The tree's root hash (the statement's ``sbh``).

    Raises:
        MerkleProofError: The path is too long or too short, or does not lead to ``root``.
    """
    if len(proof.path) != _expected_path_length(proof.index, proof.size):
        raise MerkleProofError(
            f"an inclusion proof for leaf {proof.index} of {proof.size} has "
            f"{_expected_path_length(proof.index, proof.size)} hashes, not {len(proof.path)}"
        )
    fn, sn = proof.index, proof.size - 1
    running = leaf_hash(entry)
    for sibling in proof.path:
        if fn % 2 == 1 or fn == sn:
            running = node_hash(sibling, running)
            if fn % 2 == 0:
                # The leaf's subtree is the rightmost one at this level: climb until it
                # is a right child again (or the top is reached).
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            running = node_hash(running, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0 or not hmac.compare_digest(running, root):
        raise MerkleProofError("the inclusion proof does not lead to the signed root")


class MerkleTree:
    """A whole tree over a batch of entries, built once, with a proof for every leaf.

    Building keeps every level, so the root costs n - 1 node hashes and each proof is a
    lookup of about log2(n) hashes: a front answering every client of a batch pays
    O(n log n) in total, not O(n²).

    Args:
        entries: The leaves' data, in order (session hashes).

    Raises:
        ValueError: No entries, or more than 65,536.
    """

    def __init__(self, entries: Sequence[bytes]) -> None:
        if not 1 <= len(entries) <= MAX_BATCH_SIZE:
            raise ValueError(f"a batch has 1-{MAX_BATCH_SIZE} entries, not {len(entries)}")
        self._size = len(entries)
        # levels[0] holds the leaf hashes; a level with an odd count carries its last
        # node up unpaired, which is exactly RFC 9162's split at the largest power of two.
        levels = [[leaf_hash(entry) for entry in entries]]
        while len(levels[-1]) > 1:
            below = levels[-1]
            above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2 == 1:
                above.append(below[-1])
            levels.append(above)
        self._levels = levels

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._size

    @property
    def root(self) -> bytes:
        """The tree head, MTH(D[n])."""
        return self._levels[-1][0]

    def proof(self, index: int) -> InclusionProof:
        """The inclusion proof (audit path) of leaf ``index``.

        Raises:
            IndexError: ``index`` outside the tree.
        """
        if not 0 <= index < self._size:
            raise IndexError(f"leaf {index} is outside a tree of {self._size} leaves")
        path: list[bytes] = []
        position = index
        for level in self._levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            position >>= 1
        return InclusionProof(index=index, size=self._size, path=tuple(path))
