"""Helpers shared by the interop scenarios: a deadline-bound wait and result reporting."""
import asyncio
import json
import ssl
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
    # Sets (of occupants, resources) print as sorted lists.
    print(json.dumps(result, default=sorted), flush=True)
    sys.exit(0 if ok else 1)


class Steps(list):
    """step[0]: what the scenario is doing. Each new step is printed to stderr with the time, so that the output of a
    script that ended without its result line (killed, say) still tells how far it got."""
    def __setitem__(self, index, value):
        super().__setitem__(index, value)
        print(f"{time.strftime('%H:%M:%S')} step: {value}", file=sys.stderr, flush=True)


def accept_self_signed(client):
    """The node under test has a self-signed certificate."""
    client.ssl_context.check_hostname = False
    client.ssl_context.verify_mode = ssl.CERT_NONE


def run_scenario(scenario):
    """
    Runs scenario(result, clients, step): it fills the dict result, appends every client it starts to clients, and
    sets step[0] to what it is doing, for the error. Then every client disconnects, and the result line is printed.
    """
    async def main():
        result, clients, step, ok = {}, [], Steps(["start"]), True
        try:
            await scenario(result, clients, step)
        except Exception as e:
            result["error"] = f"step '{step[0]}': {type(e).__name__}: {e}"
            ok = False
        finally:
            for client in clients:
                client.disconnect()
            await asyncio.sleep(0)
        report(result, ok)

    asyncio.get_event_loop().run_until_complete(main())
