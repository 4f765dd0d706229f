"""The 80-byte block header the Electrum protocol sends, read by hand."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Final

HEADER_SIZE: Final = 80
MAX_TARGET: Final = 0xFFFF << 208  # difficulty 1


@dataclass(frozen=True)
class BlockHeader:
    version: int
    previous_hash: str
    merkle_root: str
    time: int
    bits: int
    nonce: int
    hash: str

    @property
    def difficulty(self) -> float:
        return bits_to_difficulty(self.bits)


def bits_to_target(bits: int) -> int:
    exponent, mantissa = bits >> 24, bits & 0x007FFFFF
    if exponent <= 3:
        return mantissa >> (8 * (3 - exponent))
    return mantissa << (8 * (exponent - 3))


def bits_to_difficulty(bits: int) -> float:
    target = bits_to_target(bits)
    return MAX_TARGET / target if target else 0.0


def parse_header(raw: bytes | str) -> BlockHeader:
    """Raises ValueError for anything but 80 bytes (or their 160 hex digits)."""
    data = bytes.fromhex(raw) if isinstance(raw, str) else raw
    if len(data) != HEADER_SIZE:
        raise ValueError(f"a block header is 80 bytes, not {len(data)}")
    version, prev, merkle, time, bits, nonce = struct.unpack("<i32s32sIII", data)
    block_hash = hashlib.sha256(hashlib.sha256(data).digest()).digest()[::-1].hex()
    return BlockHeader(version, prev[::-1].hex(), merkle[::-1].hex(), time, bits, nonce, block_hash)


def split_headers(raw: str) -> list[BlockHeader]:
    """`blockchain.block.headers` gives headers back to back in one hex string."""
    data = bytes.fromhex(raw)
    if len(data) % HEADER_SIZE:
        raise ValueError(f"{len(data)} bytes is not a whole number of headers")
    return [parse_header(data[i : i + HEADER_SIZE]) for i in range(0, len(data), HEADER_SIZE)]
