"""Bitcoin price and FX rates from several public APIs: a median the user can
trust at a glance, without hammering anyone and without leaking more than
the user chose to (no request at all when disabled, SOCKS5 for the rest)."""
