"""Address codec: the BIP173 and BIP350 vectors, base58check vectors from
Bitcoin Core's key_io tests, network checks and Electrum script hashes."""

from __future__ import annotations

import hashlib

import pytest

from blocksight_tui.adapters.addresses import (
    AddressError,
    decode_address,
    p2pkh_address,
    script_hash,
    segwit_address,
)

# BIP350 valid segwit addresses (which amend BIP173's), with their scripts.
SEGWIT_VALID = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "main", "p2wpkh",
     "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "test", "p2wsh",
     "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
    ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "main",
     "witness_unknown",
     "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("BC1SW50QGDZ25J", "main", "witness_unknown", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "main", "witness_unknown",
     "5210751e76e8199196d454941c45d1b3a323"),
    ("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "signet", "p2wsh",
     "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
    ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "testnet4", "p2tr",
     "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "main", "p2tr",
     "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
    # Bitcoin Core key_io_valid.json, regtest
    ("bcrt1qka7zwvztxlmsa99u3g8m75qwpj2h4q8tj5qxpl", "regtest", "p2wpkh",
     "0014b77c27304b37f70e94bc8a0fbf500e0c957a80eb"),
    ("bcrt1qm2rjsrh4sg2djtc3nqg6ehpuvu00rcu3872fsz57z34639vss4gq9quy57", "regtest", "p2wsh",
     "0020da87280ef58214d92f119811acdc3c671ef1e3913f94980a9e146ba895908550"),
]

# Bitcoin Core key_io_valid.json: base58check addresses and their scripts.
BASE58_VALID = [
    ("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", "main", "p2pkh",
     "76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac"),
    ("36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", "main", "p2sh",
     "a914373b819a068f32b7a6b38b6b38729647cfde01c287"),
    ("mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", "test", "p2pkh",
     "76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac"),
    ("2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", "test", "p2sh",
     "a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187"),
    ("mww4LvqtTMKvmeQvizPz2EQv26xTneWrbg", "regtest", "p2pkh",
     "76a914b4110ba93ac54afc14da3bdd19614774a2d55d2988ac"),
    ("2N1r7aC69VHeE7yQJPDLi9T1PYq4wnwvjuT", "regtest", "p2sh",
     "a9145e5a35ab44b3efaea5129ba22b88ba3e2976614587"),
    ("14gqCXeD1UHYtDjxsWrBEQJd8AudqCE4ec", "main", "p2pkh",
     "76a9142870d58bb44d9cfbfccea78702aad18d4ceea91a88ac"),
    ("3Peebg75aj2HHHa6NJ9ZrYttsDJG3jHN3c", "main", "p2sh",
     "a914f0e022431de31bbe8d2745489a35b75734afa2da87"),
    ("2MyNMGHQHoHCrtr43BkNcJSKn28LZAfyLYC", "signet", "p2sh",
     "a9144329bd718db46d8f021c13f1e2b0e7268b09d55e87"),
    ("n3tPKvD3JtYn9jogvfc6nxqPsVxboUVhtp", "testnet4", "p2pkh",
     "76a914f56065f1b7321397b0d4a03e1ab2c54dd9af99ce88ac"),
]


@pytest.mark.parametrize(("address", "network", "kind", "script"), SEGWIT_VALID + BASE58_VALID)
def test_valid_addresses_give_their_scripts(
    address: str, network: str, kind: str, script: str
) -> None:
    decoded = decode_address(address, network)
    assert decoded.script.hex() == script
    assert decoded.kind == kind
    assert decoded.network == network
    assert decoded.address == address


@pytest.mark.parametrize(("address", "network", "kind", "script"), SEGWIT_VALID)
def test_segwit_addresses_round_trip(address: str, network: str, kind: str, script: str) -> None:
    raw = bytes.fromhex(script)
    version = raw[0] - 0x50 if raw[0] else 0
    assert segwit_address(version, raw[2:], network) == address.lower()


def test_surrounding_whitespace_is_ignored() -> None:
    decoded = decode_address("  bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0\n",
                             "main")
    assert decoded.kind == "p2tr"


# BIP350 invalid addresses, then BIP173's, each with the reason we report.
SEGWIT_INVALID = [
    ("tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "prefix is 'tc'"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "must use bech32m"),
    ("tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "must use bech32m"),
    ("BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "must use bech32m"),
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "must use bech32, not bech32m"),
    ("tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
     "must use bech32, not bech32m"),
    ("bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "'o' cannot appear"),
    ("BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "witness version 17"),
    ("bc1pw5dgrnzv", "1 bytes"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", "41 bytes"),
    ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "version 0 takes 20 or 32 bytes"),
    ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "mixes upper and lower"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "more than 4 bits"),
    ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "non-zero padding"),
    ("bc1gmk9yu", "too short"),
    # BIP173
    ("tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", "prefix is 'tc'"),
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum does not match"),
    ("BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", "witness version 17"),
    # Made with bech32 for v1+, so BIP350 refuses these before their own flaw.
    ("bc1rw5uspcuh", "version 3 address must use bech32m"),
    ("bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
     "version 15 address must use bech32m"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", "mixes upper and lower"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "version 2 address must use bech32m"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", "non-zero padding"),
    # BIP173's valid v1+ addresses, bech32-encoded: invalid since BIP350.
    ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
     "must use bech32m"),
    ("BC1SW50QA3JX3S", "must use bech32m"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj", "must use bech32m"),
]


@pytest.mark.parametrize(("address", "reason"), SEGWIT_INVALID)
def test_invalid_segwit_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    network = "test" if address.lower().startswith("tb1") else "main"
    with pytest.raises(AddressError, match=reason) as info:
        decode_address(address, network)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "checksum does not match"),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", "'0' cannot appear"),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNaa", "checksum does not match"),
        ("", "no address given"),
        ("   ", "no address given"),
        ("1111", "too short"),
    ],
)
def test_invalid_base58_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        decode_address(address, "main")


def test_wrong_payload_length_is_refused() -> None:
    long_payload = _base58check(bytes([0x00]) + bytes(32))
    with pytest.raises(AddressError, match="32 bytes where a hash of 20 belongs"):
        decode_address(long_payload, "main")


def test_unknown_version_byte_is_refused() -> None:
    with pytest.raises(AddressError, match="unknown version byte"):
        decode_address(_base58check(bytes([0x30]) + bytes(20)), "main")


@pytest.mark.parametrize(
    ("address", "network", "message"),
    [
        ("mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", "main",
         "this is a testnet, signet or regtest address; BlockSight watches main"),
        ("2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", "main",
         "this is a testnet, signet or regtest address; BlockSight watches main"),
        ("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", "test",
         "this is a main address; BlockSight watches test"),
        ("36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", "regtest",
         "this is a main address; BlockSight watches regtest"),
        ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "main",
         "this is a testnet or signet address; BlockSight watches main"),
        ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "regtest",
         "this is a testnet or signet address; BlockSight watches regtest"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "signet",
         "this is a main address; BlockSight watches signet"),
        ("bcrt1qka7zwvztxlmsa99u3g8m75qwpj2h4q8tj5qxpl", "test",
         "this is a regtest address; BlockSight watches test"),
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "testnet4",
         "this is a main address; BlockSight watches testnet4"),
    ],
)
def test_an_address_of_another_network_is_refused(address: str, network: str,
                                                  message: str) -> None:
    with pytest.raises(AddressError) as info:
        decode_address(address, network)
    assert str(info.value) == message


def test_a_bad_checksum_on_another_network_reports_the_checksum() -> None:
    with pytest.raises(AddressError, match="checksum does not match"):
        decode_address("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k8", "main")


def test_unknown_network_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown network"):
        decode_address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "mainnet")


def test_address_error_is_a_value_error() -> None:
    assert issubclass(AddressError, ValueError)


def test_script_hash_of_the_genesis_address() -> None:
    """The Electrum protocol documentation's own example."""
    decoded = decode_address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "main")
    assert decoded.script.hex() == "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac"
    assert script_hash(decoded.script) == (
        "8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161"
    )


def test_script_hash_is_the_reversed_sha256() -> None:
    script = bytes.fromhex("0014751e76e8199196d454941c45d1b3a323f1433bd6")
    assert script_hash(script) == hashlib.sha256(script).digest()[::-1].hex()
    assert script_hash(b"") == (
        "55b852781b9995a44c939b64e441ae2724b96f99c8f4fb9a141cfc9842c4b0e3"
    )


@pytest.mark.parametrize(
    ("pubkey_hash", "network", "address"),
    [
        ("62e907b15cbf27d5425399ebf6f0fb50ebb88f18", "main", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ("a31c06bd463e3923bc1aadbde48b16976c080717", "main", "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo"),
        ("ce28b26c57472737f5c3561a1761185bd8589a43", "test", "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ"),
        ("b4110ba93ac54afc14da3bdd19614774a2d55d29", "regtest",
         "mww4LvqtTMKvmeQvizPz2EQv26xTneWrbg"),
        ("0000000000000000000000000000000000000000", "main", "1111111111111111111114oLvT2"),
    ],
)
def test_p2pkh_address(pubkey_hash: str, network: str, address: str) -> None:
    assert p2pkh_address(bytes.fromhex(pubkey_hash), network) == address
    assert decode_address(address, network).script[3:23].hex() == pubkey_hash


def test_p2pkh_address_needs_twenty_bytes() -> None:
    with pytest.raises(ValueError, match="20 bytes"):
        p2pkh_address(bytes(19), "main")


def _base58check(payload: bytes) -> str:
    """Independent of the module under test: Bitcoin's base58check, spelled out."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, text = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = alphabet[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text
