"""One slixmpp account logs in COUNT times in a row, with slixmpp's default mechanism order.

Usage: slixmpp_logins.py HOST PORT JID PASSWORD COUNT
Prints one JSON line with each login's duration and mechanism; exits 0 only if every login succeeded.
"""
import asyncio
import ssl
import sys
import time

import slixmpp

from interop_common import TIMEOUT, report

host, port, jid, password, count = sys.argv[1:6]


class Client(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(jid, password)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        loop = asyncio.get_event_loop()
        self.started = loop.create_future()
        self.gone = loop.create_future()
        self.mechanism = None
        self.add_event_handler("session_start", lambda _: self.started.done() or self.started.set_result(True))
        self.add_event_handler("failed_all_auth", lambda _: self.started.done() or self.started.set_exception(RuntimeError("authentication failed")))
        self.add_event_handler("auth_success", self.on_auth)
        self.add_event_handler("disconnected", lambda _: self.gone.done() or self.gone.set_result(True))

    def on_auth(self, _):
        self.mechanism = self["feature_mechanisms"].mech.name


async def main():
    result = {"logins": []}
    ok = False
    try:
        for _ in range(int(count)):
            began = time.monotonic()
            client = Client()
            client.connect((host, int(port)), force_starttls=True)
            await asyncio.wait_for(client.started, TIMEOUT)
            result["logins"].append({"seconds": round(time.monotonic() - began, 3), "mechanism": client.mechanism})
            client.disconnect()
            await asyncio.wait_for(client.gone, TIMEOUT)
        ok = True
    except Exception as e:  # report what failed, for the test's message
        result["error"] = f"{type(e).__name__}: {e}"
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
