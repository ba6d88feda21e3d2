"""RFC 9162 Merkle trees, checked against the RFC's recursive definitions for every size to 64."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from mlp.merkle import (
    MAX_BATCH_SIZE,
    InclusionProof,
    MerkleProofError,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_inclusion,
)

SIZES = range(1, 65)


def entries(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


def mth(data: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, literally."""
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < len(data):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


def path(m: int, data: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), literally."""
    if len(data) == 1:
        return []
    k = 1
    while k * 2 < len(data):
        k *= 2
    if m < k:
        return [*path(m, data[:k]), mth(data[k:])]
    return [*path(m - k, data[k:]), mth(data[:k])]


def test_hash_prefixes_separate_leaves_from_nodes() -> None:
    data = b"x" * 64
    assert leaf_hash(data) == hashlib.sha256(b"\x00" + data).digest()
    assert node_hash(data[:32], data[32:]) == hashlib.sha256(b"\x01" + data).digest()
    assert leaf_hash(data) != node_hash(data[:32], data[32:])


@pytest.mark.parametrize("size", SIZES)
def test_root_and_every_proof_match_the_recursive_definition(size: int) -> None:
    data = entries(size)
    tree = MerkleTree(data)

    assert tree.root == mth(data)
    for index in range(size):
        proof = tree.proof(index)
        assert list(proof.path) == path(index, data)
        verify_inclusion(data[index], proof, tree.root)


@pytest.mark.parametrize("size", SIZES)
def test_every_proof_fails_for_another_leaf_index_or_root(size: int) -> None:
    data = entries(size)
    tree = MerkleTree(data)
    other_root = mth(entries(size + 1))
    for index in range(size):
        proof = tree.proof(index)
        with pytest.raises(MerkleProofError):
            verify_inclusion(b"\xff" * 32, proof, tree.root)
        with pytest.raises(MerkleProofError):
            verify_inclusion(data[index], proof, other_root)
        if size > 1:
            moved = InclusionProof((index + 1) % size, size, proof.path)
            with pytest.raises(MerkleProofError):
                verify_inclusion(data[index], moved, tree.root)


@pytest.mark.parametrize("size", [2, 3, 5, 8, 13])
def test_proof_length_must_be_exact(size: int) -> None:
    data = entries(size)
    tree = MerkleTree(data)
    proof = tree.proof(size - 1)
    longer = InclusionProof(proof.index, proof.size, (*proof.path, b"\x00" * 32))
    shorter = InclusionProof(proof.index, proof.size, proof.path[:-1])

    for bad in (longer, shorter):
        with pytest.raises(MerkleProofError, match="hashes"):
            verify_inclusion(data[-1], bad, tree.root)


def test_a_proof_checked_against_a_different_size_fails() -> None:
    # The size a client checks against is the one the GMLC signed, not the front's.
    data = entries(6)
    tree = MerkleTree(data)
    proof = tree.proof(5)

    with pytest.raises(MerkleProofError):
        verify_inclusion(data[5], InclusionProof(5, 7, proof.path), tree.root)


def test_agrees_with_pymerkle_as_an_independent_oracle() -> None:
    for size in (1, 2, 3, 7, 16, 33):
        data = entries(size)
        oracle = InmemoryTree(algorithm="sha256")
        for entry in data:
            oracle.append_entry(entry)
        assert MerkleTree(data).root == oracle.get_root()


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40), st.data())
def test_random_batches_round_trip(data: list[bytes], draw: st.DataObject) -> None:
    tree = MerkleTree(data)
    index = draw.draw(st.integers(0, len(data) - 1))
    verify_inclusion(data[index], tree.proof(index), tree.root)


@pytest.mark.parametrize(
    ("index", "size", "path"),
    [(0, 0, ()), (3, 3, ()), (-1, 3, ()), (0, MAX_BATCH_SIZE + 1, ()), (0, 2, (b"short",))],
)
def test_impossible_proofs_cannot_be_built(index: int, size: int, path: tuple[bytes, ...]) -> None:
    with pytest.raises(ValueError):
        InclusionProof(index, size, path)


def test_tree_size_limits() -> None:
    with pytest.raises(ValueError):
        MerkleTree([])
    with pytest.raises(IndexError):
        MerkleTree(entries(3)).proof(3)
