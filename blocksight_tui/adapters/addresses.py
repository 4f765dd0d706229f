"""Bitcoin addresses to output scripts, and scripts to Electrum script hashes.

An Electrum server indexes outputs by the SHA-256 of their script, so the
address search needs the script an address stands for. Supported: base58check
P2PKH and P2SH, bech32 for witness version 0 (BIP173) and bech32m for
versions 1 to 16 (BIP350). Every address is checked against the network
BlockSight watches: an address of another network names no coins on this one.

Errors are `AddressError`, whose message is one line meant for the user.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

Kind: TypeAlias = Literal["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "witness_unknown"]


class AddressError(ValueError):
    """An address that cannot be searched; the message says why, in one line."""


@dataclass(frozen=True)
class DecodedAddress:
    address: str
    network: str
    kind: Kind
    script: bytes


@dataclass(frozen=True)
class _Params:
    p2pkh: int
    p2sh: int
    hrp: str


_MAIN: Final = _Params(p2pkh=0x00, p2sh=0x05, hrp="bc")
_TEST: Final = _Params(p2pkh=0x6F, p2sh=0xC4, hrp="tb")
_REGTEST: Final = _Params(p2pkh=0x6F, p2sh=0xC4, hrp="bcrt")
NETWORK_PARAMS: Final[dict[str, _Params]] = {
    "main": _MAIN,
    "test": _TEST,
    "testnet4": _TEST,
    "signet": _TEST,
    "regtest": _REGTEST,
}
# What to call the network an address belongs to; test networks share prefixes.
_HRP_NAMES: Final = {"bc": "main", "tb": "testnet or signet", "bcrt": "regtest"}
_SHARED_TEST: Final = "testnet, signet or regtest"
_VERSION_NAMES: Final = {0x00: "main", 0x05: "main", 0x6F: _SHARED_TEST, 0xC4: _SHARED_TEST}

_BASE58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX: Final = {char: index for index, char in enumerate(_BASE58)}
_BECH32: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX: Final = {char: index for index, char in enumerate(_BECH32)}
_BECH32_CONST: Final = 1
_BECH32M_CONST: Final = 0x2BC830A3
_BECH32_MAX_LEN: Final = 90

OP_DUP, OP_HASH160, OP_EQUALVERIFY, OP_CHECKSIG, OP_EQUAL = 0x76, 0xA9, 0x88, 0xAC, 0x87


def script_hash(script: bytes) -> str:
    """The Electrum protocol's key for a script: SHA-256, bytes reversed, hex."""
    return hashlib.sha256(script).digest()[::-1].hex()


def decode_address(text: str, network: str) -> DecodedAddress:
    """The output script of an address of `network`; AddressError if it is not one."""
    params = _params(network)
    address = text.strip()
    if not address:
        raise AddressError("no address given")
    hrp = address.rsplit("1", 1)[0].lower() if "1" in address else ""
    if hrp in _HRP_NAMES:
        return _decode_segwit(address, network, params)
    try:
        return _decode_base58(address, network, params)
    except AddressError:
        if hrp and _is_bech32(address):
            raise AddressError(f"not a Bitcoin address (its prefix is {hrp!r})") from None
        raise


def p2pkh_address(pubkey_hash: bytes, network: str) -> str:
    """The P2PKH address of a 20-byte public key hash on `network`."""
    if len(pubkey_hash) != 20:
        raise ValueError("a public key hash is 20 bytes")
    return _base58check_encode(bytes([_params(network).p2pkh]) + pubkey_hash)


def segwit_address(version: int, program: bytes, network: str) -> str:
    """The bech32 (v0) or bech32m (v1+) address of a witness program on `network`."""
    if not 0 <= version <= 16 or not 2 <= len(program) <= 40:
        raise ValueError("not a valid witness version and program")
    if version == 0 and len(program) not in (20, 32):
        raise ValueError("a version 0 witness program is 20 or 32 bytes")
    const = _BECH32_CONST if version == 0 else _BECH32M_CONST
    data = [version, *_convert_bits(program, 8, 5, pad=True)]
    hrp = _params(network).hrp
    checksum = _bech32_checksum(hrp, data, const)
    return hrp + "1" + "".join(_BECH32[value] for value in data + checksum)


def _params(network: str) -> _Params:
    try:
        return NETWORK_PARAMS[network]
    except KeyError:
        raise ValueError(f"unknown network {network!r}") from None


# --- base58check ---------------------------------------------------------


def _decode_base58(address: str, network: str, params: _Params) -> DecodedAddress:
    payload = _base58check_decode(address)
    if len(payload) != 21:
        raise AddressError(
            f"not a valid address: {len(payload) - 1} bytes where a hash of 20 belongs"
        )
    version, body = payload[0], payload[1:]
    if version == params.p2pkh:
        script = bytes([OP_DUP, OP_HASH160, 20]) + body + bytes([OP_EQUALVERIFY, OP_CHECKSIG])
        return DecodedAddress(address, network, "p2pkh", script)
    if version == params.p2sh:
        script = bytes([OP_HASH160, 20]) + body + bytes([OP_EQUAL])
        return DecodedAddress(address, network, "p2sh", script)
    other = _VERSION_NAMES.get(version)
    if other is None:
        raise AddressError("not a Bitcoin address (unknown version byte)")
    raise AddressError(_wrong_network(other, network))


def _base58check_decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _BASE58_INDEX.get(char)
        if digit is None:
            raise AddressError(f"not a Bitcoin address: {char!r} cannot appear in one")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    raw = b"\x00" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")
    if len(raw) < 5:
        raise AddressError("not a Bitcoin address: too short")
    payload, checksum = raw[:-4], raw[-4:]
    if _double_sha256(payload)[:4] != checksum:
        raise AddressError("checksum does not match (a typing error?)")
    return payload


def _base58check_encode(payload: bytes) -> str:
    data = payload + _double_sha256(payload)[:4]
    number = int.from_bytes(data, "big")
    chars = []
    while number:
        number, digit = divmod(number, 58)
        chars.append(_BASE58[digit])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(chars))


def _double_sha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


# --- bech32 / bech32m ----------------------------------------------------


def _decode_segwit(address: str, network: str, params: _Params) -> DecodedAddress:
    if address.lower() != address and address.upper() != address:
        raise AddressError("mixes upper and lower case")
    lower = address.lower()
    if len(lower) > _BECH32_MAX_LEN:
        raise AddressError(f"too long for an address ({len(lower)} characters)")
    hrp, _, rest = lower.rpartition("1")
    bad = next((char for char in rest if char not in _BECH32_INDEX), None)
    if bad is not None:
        raise AddressError(f"not a Bitcoin address: {bad!r} cannot appear in one")
    if len(rest) < 7:
        raise AddressError("too short for an address")
    values = [_BECH32_INDEX[char] for char in rest]
    const = _bech32_polymod(_hrp_expand(hrp) + values)
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        raise AddressError("checksum does not match (a typing error?)")
    # Checked after the checksum, so a typing error is not reported as a network.
    if hrp != params.hrp:
        raise AddressError(_wrong_network(_HRP_NAMES[hrp], network))
    version, data = values[0], values[1:-6]
    if version > 16:
        raise AddressError(f"unknown witness version {version}")
    if version == 0 and const != _BECH32_CONST:
        raise AddressError("a version 0 address must use bech32, not bech32m (BIP350)")
    if version > 0 and const != _BECH32M_CONST:
        raise AddressError(
            f"a version {version} address must use bech32m, not bech32 (BIP350)"
        )
    program = _convert_bits(data, 5, 8, pad=False)
    if not 2 <= len(program) <= 40:
        raise AddressError(f"wrong length: a witness program of {len(program)} bytes")
    if version == 0 and len(program) not in (20, 32):
        raise AddressError(f"wrong length: version 0 takes 20 or 32 bytes, not {len(program)}")
    script = bytes([0x50 + version if version else 0, len(program)]) + program
    return DecodedAddress(address, network, _segwit_kind(version, len(program)), script)


def _is_bech32(text: str) -> bool:
    """A well-formed bech32 or bech32m string, whatever its prefix."""
    hrp, _, rest = text.lower().rpartition("1")
    if not hrp or len(rest) < 6 or any(char not in _BECH32_INDEX for char in rest):
        return False
    values = [_BECH32_INDEX[char] for char in rest]
    return _bech32_polymod(_hrp_expand(hrp) + values) in (_BECH32_CONST, _BECH32M_CONST)


def _segwit_kind(version: int, length: int) -> Kind:
    if version == 0:
        return "p2wpkh" if length == 20 else "p2wsh"
    if version == 1 and length == 32:
        return "p2tr"
    return "witness_unknown"


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for index, term in enumerate(generator):
            if (top >> index) & 1:
                check ^= term
    return check


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]


def _bech32_checksum(hrp: str, data: list[int], const: int) -> list[int]:
    polymod = _bech32_polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    return [(polymod >> 5 * (5 - index)) & 31 for index in range(6)]


def _convert_bits(data: bytes | list[int], source: int, target: int, pad: bool) -> bytes:
    """Regroup bits; without padding, leftovers must be fewer than `source` zero bits."""
    accumulator = bits = 0
    out = []
    mask = (1 << target) - 1
    for value in data:
        accumulator = (accumulator << source) | value
        bits += source
        while bits >= target:
            bits -= target
            out.append((accumulator >> bits) & mask)
    if pad:
        if bits:
            out.append((accumulator << (target - bits)) & mask)
    elif bits >= source:
        raise AddressError("not a valid address: more than 4 bits of padding")
    elif (accumulator << (target - bits)) & mask:
        raise AddressError("not a valid address: non-zero padding")
    return bytes(out)


def _wrong_network(other: str, network: str) -> str:
    return f"this is a {other} address; BlockSight watches {network}"
