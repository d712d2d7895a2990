"""One slixmpp client signs in, says so, and waits until the server ends its session (an administrator's kick).

Usage: slixmpp_kicked.py HOST PORT JID PASSWORD
Prints "online JID" once signed in, then one JSON line with the stream error's condition; exits 0 only if the
session was ended by the server with a stream error before the deadline.
"""
import asyncio
import sys

import slixmpp

from interop_common import accept_self_signed, report

host, port, jid, password = sys.argv[1:5]
# The test kicks the session once it has seen "online"; generous, as the machine is shared.
KICK_DEADLINE = 60


class Client(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(jid, password)
        accept_self_signed(self)
        loop = asyncio.get_event_loop()
        self.started = loop.create_future()
        self.gone = loop.create_future()
        self.condition = None
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_all_auth", lambda _: self.started.done() or self.started.set_exception(RuntimeError("authentication failed")))
        self.add_event_handler("stream_error", self.on_stream_error)
        self.add_event_handler("disconnected", lambda _: self.gone.done() or self.gone.set_result(True))

    def on_start(self, _):
        self.send_presence()
        if not self.started.done():
            self.started.set_result(True)

    def on_stream_error(self, error):
        self.condition = error["condition"]


async def main():
    result, ok = {}, False
    client = Client()
    try:
        client.connect((host, int(port)), force_starttls=True)
        await asyncio.wait_for(client.started, KICK_DEADLINE)
        print(f"online {client.boundjid.full}", flush=True)
        await asyncio.wait_for(client.gone, KICK_DEADLINE)
        result["stream_error"] = client.condition
        ok = client.condition is not None
    except Exception as e:  # report what failed, for the test's message
        result["error"] = f"{type(e).__name__}: {e}"
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
