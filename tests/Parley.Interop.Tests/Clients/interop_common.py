"""Helpers shared by the interop scenarios: a deadline-bound wait and result reporting."""
import asyncio
import json
import sys
import time

TIMEOUT = 20


async def wait_until(predicate, what, timeout=TIMEOUT):
    """Waits for a condition (checked as events arrive) until a deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def report(result, ok):
    print(json.dumps(result), flush=True)
    sys.exit(0 if ok else 1)
