"""What sealing the channel credentials costs: opening a business's credentials (every send and
every webhook does it), the first time and again, and sealing them (connecting a channel).

    .venv/bin/python -m bench.credential_seal            # --rounds 20000
"""

from __future__ import annotations

import argparse
import timeit

from cryptography.fernet import Fernet

from storage.credentials import CredentialCipher

CREDENTIALS = {
    "token": "123456789:AAFakeTokenForKesherBenchOnly_0123456789",
    "webhook_secret": "w" * 43,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds
    # Two keys, as during a rotation: the older one opens what it sealed.
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = [CredentialCipher([old]).seal({**CREDENTIALS, "n": str(n)}) for n in range(rounds)]
    cipher = CredentialCipher([new, old])
    each = iter(sealed)
    first = timeit.timeit(lambda: cipher.open(next(each)), number=rounds) / rounds
    again = timeit.timeit(lambda: cipher.open(sealed[0]), number=rounds) / rounds
    seal = timeit.timeit(lambda: cipher.seal(CREDENTIALS), number=rounds) / rounds
    print(f"open, first time (old key of two): {first * 1e6:.1f} µs")
    print(f"open, again (kept):                {again * 1e6:.1f} µs")
    print(f"seal:                              {seal * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
